#!/usr/bin/env bash
# Nested VMX (issue 7, docs/nested.md): the nvmx scenarios and the shootdown
# workload in L2 on {tdp on, off} x the executors with the oracle full must
# pass; each TLB rule switched off by its breaking fault point must be caught
# (status 3, an oracle violation), in both paging modes. Without --nested the
# scenarios exit with RV_EXIT_NO_FEATURE, and --nested on svm is refused.
# RV_NESTED_QUICK=1 (the TSan run) leaves out the breaking rows.
# Usage: test_nested.sh REQVISOR NVMX.elf NVMX_SHOOTDOWN.elf
set -u
rv=$1 nvmx=$2 shoot=$3
. "$(dirname "$0")/guest_run.sh"
extra=(--nested)

counts=${RV_VENDOR_COUNTS:-2 4}
executors=${RV_VENDOR_EXECUTORS:-threads deterministic}
for tdp in on off; do
	for e in $executors; do
		for n in $counts; do
			run 0 "$nvmx" --tdp "$tdp" --vcpus "$n" --executor "$e" --seed "$n"
		done
		run 0 "$shoot" --tdp "$tdp" --vcpus 8 --executor "$e" --seed 3
		# No vpid02 (the VPIDs run out after L1's), so with shadow paging L2
		# shares L1's tag: rule 3 is what keeps them apart.
		run 0 "$nvmx" --tdp "$tdp" --vcpus 2 --vpids 3 --executor "$e"
	done
	run 0 "$nvmx" --tdp "$tdp" --vcpus 4 --fault vcpu.preempt=0.02,vcpu.migrate=0.01
	# The breaking rows are single-threaded (deterministic): nothing for TSan.
	[ -n "${RV_NESTED_QUICK:-}" ] && continue
	# Breaking: each rule off; the oracle reports the stale use (status 3).
	for f in nvmx.skip_flush_no_vpid nvmx.skip_flush_new_vpid12 nvmx.skip_invvpid \
		nvmx.skip_invept; do
		run 3 "$nvmx" --tdp "$tdp" --vcpus 2 --executor deterministic --fault "$f=1"
	done
	run 3 "$shoot" --tdp "$tdp" --vcpus 4 --executor deterministic --fault tlb.skip_invlpg=1
done
[ -z "${RV_NESTED_QUICK:-}" ] &&
	run 3 "$nvmx" --tdp off --vcpus 2 --vpids 3 --executor deterministic \
		--fault nvmx.skip_flush_no_tag=1

extra=()
run 1 "$nvmx" --vcpus 1
if ! grep -q "FAIL 102.*CPUID does not report VMX" <<<"$out"; then
	echo "FAIL: nvmx without --nested: $out"
	fails=$((fails + 1))
fi
run 2 "$nvmx" --vcpus 1 --nested --vendor svm
echo "nested: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
