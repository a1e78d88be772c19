#!/usr/bin/env bash
# A guest that attacks the hypervisor (guests/hostile.c): wild GPAs in
# hypercalls, page tables outside RAM and in loops, IPI floods and 4096
# flushes pending at a sleeping vCPU. Every attack must come back to the
# guest as an architectural result (the guest checks each one and prints
# "every attack contained"), with the oracle full and no violation, on both
# vendors, both paging modes and both executors; also under benign faults.
# Usage: test_hostile.sh REQVISOR HOSTILE.elf
set -u
rv=$1 elf=$2
. "$(dirname "$0")/guest_run.sh"
extra=(--hyperv)

contained() {
	if ! grep -q "every attack contained" <<<"$out"; then
		echo "FAIL: hostile $* did not report every attack contained"
		echo "$out" | tail -3
		fails=$((fails + 1))
	fi
}

counts=${RV_GUEST_COUNTS:-2 8}
for vendor in vmx svm; do
	for tdp in on off; do
		for e in threads deterministic; do
			for n in $counts; do
				[ "$n" -lt 2 ] && continue
				run 0 "$elf" --vendor "$vendor" --tdp "$tdp" --executor "$e" --vcpus "$n"
				contained "$vendor $tdp $e $n"
			done
		done
		run 0 "$elf" --vendor "$vendor" --tdp "$tdp" --vcpus 4 --seed 7 \
			--fault kick.drop=0.05,vcpu.preempt=0.01,vcpu.migrate=0.01,fifo.overflow=0.2
		contained "$vendor $tdp with benign faults"
	done
done
# With --nested the VP assist page is live: one outside RAM is still #GP.
run 0 "$elf" --nested --vcpus 2
contained "nested"
# The guest refuses to run where it cannot attack: one vCPU, no Hyper-V.
run 1 "$elf" --vcpus 1
extra=()
run 1 "$elf" --vcpus 2
grep -q "needs --hyperv" <<<"$out" || { echo "FAIL: no reason given without --hyperv"; fails=$((fails + 1)); }

echo "hostile: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
