#!/usr/bin/env bash
# Hyper-V enlightened flushes (issue 6, docs/hyperv.md): hv_shootdown and
# hv_tlbflush on {vmx, svm} x {tdp on, off} x the executors with the oracle
# full must pass, also with FIFOs overflowing; the bad-input guest must see
# status 3 for every malformed call and run on; skipping the FIFO drain must
# be caught by the oracle.
# Usage: test_hyperv.sh REQVISOR HV_SHOOTDOWN.elf HV_BADINPUT.elf HV_TLBFLUSH.elf
#        HV_SHOOTDOWN_SERIAL.elf
set -u
rv=$1 hvsd=$2 bad=$3 tlbf=$4 serial=$5
. "$(dirname "$0")/guest_run.sh"
extra=(--hyperv)

counts=${RV_VENDOR_COUNTS:-2 8}
executors=${RV_VENDOR_EXECUTORS:-threads deterministic}
for vendor in vmx svm; do
	for tdp in on off; do
		v=(--vendor "$vendor" --tdp "$tdp")
		for n in $counts; do
			for e in $executors; do
				run 0 "$hvsd" "${v[@]}" --vcpus "$n" --executor "$e" --seed "$n"
				run 0 "$tlbf" "${v[@]}" --vcpus "$n" --executor "$e" --seed "$n"
			done
		done
		run 0 "$hvsd" "${v[@]}" --vcpus 8 --fault fifo.overflow=0.3,vcpu.preempt=0.01
		run 0 "$tlbf" "${v[@]}" --vcpus 8 --fault fifo.overflow=0.3,vcpu.migrate=0.01
		run 0 "$bad" "${v[@]}" --vcpus 2
		# Breaking: the FIFO emptied without flushing what it names. The
		# oracle's rule for the hypercalls catches it (status 3).
		for e in $executors; do
			run 3 "$hvsd" "${v[@]}" --vcpus 8 --executor "$e" --seed 1 \
				--fault hv.skip_fifo_drain=1
			run 3 "$tlbf" "${v[@]}" --vcpus 4 --executor "$e" --seed 1 \
				--fault hv.skip_fifo_drain=1
		done
	done
done
# Malformed calls flush nothing: on 2 vCPUs the six good calls of the
# bad-input guest post HV_TLB_FLUSH 9 times, of which 5 page flushes (List of
# 3 and ListEx of 2, to vCPU 0) and 4 flush-alls become 7 guest flushes.
stats=$(mktemp)
"$rv" run "$bad" --hyperv --quiet --oracle full --vcpus 2 --executor deterministic \
	--stats "$stats" >/dev/null 2>&1
got=$(python3 -c "import json,sys; v=json.load(open(sys.argv[1]))['vm']
print(v['hv_flushes'], v['flush_gva'], v['flush_guest'])" "$stats")
rm -f "$stats"
if [ "$got" != "9 5 7" ]; then
	echo "FAIL: bad-input guest: hv_flushes, flush_gva, flush_guest = $got (want 9 5 7)"
	fails=$((fails + 1))
else
	passes=$((passes + 1))
fi
# vCPU 0 leading every round (the overcommit benchmark's flush chain).
for e in $executors; do
	run 0 "$serial" --vcpus 8 --executor "$e" --seed 4
done
# More vCPUs than one bank of a sparse VP set or a processor mask holds.
run 0 "$hvsd" --vcpus 72 --executor deterministic --seed 2 --rounds 12
# Without --hyperv the guest finds no enlightenment and says so.
out=$("$rv" run "$hvsd" --quiet --vcpus 2 2>&1)
if [ $? -ne 1 ] || ! grep -q "no Hyper-V flush hypercalls" <<<"$out"; then
	echo "FAIL: hv_shootdown without --hyperv: $out"
	fails=$((fails + 1))
else
	passes=$((passes + 1))
fi
echo "hyperv: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
