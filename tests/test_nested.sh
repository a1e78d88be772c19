#!/usr/bin/env bash
# Nested virtualization (issue 7, docs/nested.md): the nvmx and nsvm
# scenarios and the shootdown workload in L2 on {tdp on, off} x the executors
# (x both nSVM flush rules) with the oracle full must pass; each TLB rule
# switched off by its breaking fault point must be caught (status 3, an
# oracle violation). Without --nested the scenarios exit with
# RV_EXIT_NO_FEATURE; a bad --nsvm-flush is refused.
# The sanitizer runs cut it down: RV_NESTED_COUNTS, RV_NESTED_EXECUTORS and
# RV_NESTED_SHOOT_VCPUS replace "2 4", both executors and 8, RV_NESTED_TDP "on off"
# (the TSan run: L0's paging modes are raced in tests/test_vendors.sh); RV_NESTED_QUICK=1
# leaves out the breaking rows (single-threaded, deterministic).
# Usage: test_nested.sh REQVISOR NVMX.elf NVMX_SHOOTDOWN.elf NSVM.elf NSVM_SHOOTDOWN.elf
#        NSVM_HV_TLBFLUSH.elf NVMX_HV_TLBFLUSH.elf
set -u
rv=$1 nvmx=$2 shoot=$3 nsvm=$4 sshoot=$5 shvf=$6 vhvf=$7
. "$(dirname "$0")/guest_run.sh"
extra=(--nested)

# The last run printed @1 (a guest's summary names what it covered).
expect_line() {
	if ! grep -q "$1" <<<"$out"; then
		echo "FAIL: the last run did not print \"$1\": $(tail -2 <<<"$out")"
		fails=$((fails + 1))
	fi
}

counts=${RV_NESTED_COUNTS:-2 4}
executors=${RV_NESTED_EXECUTORS:-threads deterministic}
shoot_vcpus=${RV_NESTED_SHOOT_VCPUS:-8}
tdps=${RV_NESTED_TDP:-on off}
for tdp in $tdps; do
	for e in $executors; do
		for n in $counts; do
			run 0 "$nvmx" --tdp "$tdp" --vcpus "$n" --executor "$e" --seed "$n"
		done
		expect_line "ran 9 scenarios"
		# With --hyperv, scenario 9 too: the enlightened VMCS.
		run 0 "$nvmx" --tdp "$tdp" --vcpus 2 --executor "$e" --hyperv
		expect_line "ran 10 scenarios"
		run 0 "$shoot" --tdp "$tdp" --vcpus "$shoot_vcpus" --executor "$e" --seed 3
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
if [ -z "${RV_NESTED_QUICK:-}" ]; then
	run 3 "$nvmx" --tdp off --vcpus 2 --vpids 3 --executor deterministic \
		--fault nvmx.skip_flush_no_tag=1
	run 3 "$nvmx" --tdp off --vcpus 2 --executor deterministic \
		--fault nvmx.skip_flush_new_eptp=1
fi

# nested SVM, under both flush rules.
extra=(--nested --vendor svm)
for tdp in $tdps; do
	for rule in unconditional conditional; do
		for e in $executors; do
			for n in $counts; do
				run 0 "$nsvm" --tdp "$tdp" --nsvm-flush "$rule" --vcpus "$n" \
					--executor "$e" --seed "$n"
			done
			expect_line "ran 6 scenarios"
			run 0 "$sshoot" --tdp "$tdp" --nsvm-flush "$rule" --vcpus "$shoot_vcpus" --executor "$e"
		done
	done
	run 0 "$nsvm" --tdp "$tdp" --vcpus 4 --nsvm-flush conditional \
		--fault vcpu.preempt=0.02,vcpu.migrate=0.01,asid.exhaust=0.01
	# Host page moves while L2 runs: TLB_FLUSH must reach L1's ASID too.
	run 0 "$nsvm" --tdp "$tdp" --vcpus 4 --nsvm-flush conditional --topology 2x1 \
		--fault hostmem.migrate=0.05
	[ -n "${RV_NESTED_QUICK:-}" ] && continue
	run 3 "$nsvm" --tdp "$tdp" --vcpus 2 --executor deterministic --fault nsvm.skip_flush=1
	for f in nsvm.cond_skip_new_asid nsvm.cond_ignore_tlb_control nsvm.skip_invlpga; do
		run 3 "$nsvm" --tdp "$tdp" --vcpus 2 --executor deterministic \
			--nsvm-flush conditional --fault "$f=1"
	done
done
# With NPT the entries L1's ASID kept map the freed frame (a host violation).
[ -z "${RV_NESTED_QUICK:-}" ] &&
	run 3 "$nsvm" --tdp on --vcpus 2 --executor deterministic --nsvm-flush conditional \
		--topology 2x1 --fault nsvm.cond_keep_other_asid=1,hostmem.migrate=0.05

# Hyper-V direct flush for L2: hv-tlbflush as L2 (SVM: VMCB enlightenments;
# VMX: an enlightened VMCS), its flush hypercalls handled by L0 with the L2
# FIFOs; skipping the drain is caught.
extra=(--nested --vendor svm --hyperv)
for tdp in $tdps; do
	for e in $executors; do
		run 0 "$shvf" --tdp "$tdp" --vcpus 4 --executor "$e" --seed 2
	done
	run 0 "$shvf" --tdp "$tdp" --vcpus 4 --nsvm-flush conditional \
		--fault fifo.overflow=0.3,vcpu.migrate=0.01
	[ -n "${RV_NESTED_QUICK:-}" ] && continue
	run 3 "$shvf" --tdp "$tdp" --vcpus 4 --executor deterministic --seed 1 \
		--fault hv.skip_fifo_drain=1
done
extra=(--nested --vendor vmx --hyperv)
for tdp in $tdps; do
	for e in $executors; do
		run 0 "$vhvf" --tdp "$tdp" --vcpus 4 --executor "$e" --seed 2
	done
	run 0 "$vhvf" --tdp "$tdp" --vcpus 4 --fault fifo.overflow=0.3,vcpu.migrate=0.01
	[ -n "${RV_NESTED_QUICK:-}" ] && continue
	run 3 "$vhvf" --tdp "$tdp" --vcpus 4 --executor deterministic --seed 1 \
		--fault hv.skip_fifo_drain=1
done

extra=()
run 1 "$nvmx" --vcpus 1
if ! grep -q "FAIL 102.*CPUID does not report VMX" <<<"$out"; then
	echo "FAIL: nvmx without --nested: $out"
	fails=$((fails + 1))
fi
run 2 "$nvmx" --vcpus 1 --nested --nsvm-flush sometimes
echo "nested: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
