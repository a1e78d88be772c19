#!/usr/bin/env bash
# The vendor matrix (issue 5, docs/vendors.md): every guest on {vmx, svm} x
# {tdp on, off} x {threads, deterministic} with the oracle full must pass;
# each breaking fault point of a vendor rule must be caught (status 3), and
# the benign ones (page moves, VPID and ASID exhaustion, migrations) must not.
# Usage: test_vendors.sh REQVISOR SHOOTDOWN.elf PCID.elf HELLO.elf
set -u
rv=$1 shootdown=$2 pcid=$3 hello=$4
. "$(dirname "$0")/guest_run.sh"

counts=${RV_VENDOR_COUNTS:-2 8}
# TSan runs take the threads executor only: RV_VENDOR_EXECUTORS=threads. The
# rows written for the deterministic executor then run only where it is
# listed (one host thread: nothing for TSan to see).
executors=${RV_VENDOR_EXECUTORS:-threads deterministic}
det() {
	case " $executors " in
	*" deterministic "*) run "$@" ;;
	esac
}
for vendor in vmx svm; do
	for tdp in on off; do
		for n in $counts; do
			for elf in "$shootdown" "$pcid" "$hello"; do
				v=(--vendor "$vendor" --tdp "$tdp" --vcpus "$n")
				for e in $executors; do
					run 0 "$elf" "${v[@]}" --executor "$e" --seed "$n"
				done
			done
		done
		# Benign: page moves under a running shootdown, migrations,
		# preemption; VPIDs and ASIDs running out.
		v=(--vendor "$vendor" --tdp "$tdp" --vcpus 8 --topology 2x1)
		benign=hostmem.migrate=0.01,hostmem.zap=0.002,vcpu.migrate=0.5,vcpu.preempt=0.01,vpid.exhaust=0.5,asid.exhaust=0.01
		run 0 "$shootdown" "${v[@]}" --fault "$benign"
		det 0 "$shootdown" "${v[@]}" --fault "$benign" --executor deterministic --seed 5
		det 0 "$shootdown" "${v[@]}" --numa-migrate --executor deterministic --seed 6
		det 0 "$pcid" "${v[@]}" --fault "$benign" --executor deterministic --seed 7
	done
done
# Small tag spaces: every vCPU on VPID 0; ASIDs wrapping every few runs;
# flushing by taking a fresh ASID.
det 0 "$pcid" --vendor vmx --vpids 1 --vcpus 8 --executor deterministic --seed 1
run 0 "$shootdown" --vendor vmx --vpids 1 --vcpus 8
det 0 "$shootdown" --vendor vmx --tdp off --vpids 1 --vcpus 8 --executor deterministic --seed 3
det 0 "$pcid" --vendor svm --asids 3 --vcpus 8 --executor deterministic --seed 1
run 0 "$shootdown" --vendor svm --asids 2 --vcpus 8
det 0 "$shootdown" --vendor svm --svm-flush new-asid --asids 5 --vcpus 8 --executor deterministic --seed 2

# Breaking: each vendor rule switched off is caught by the oracle.
mig=vcpu.migrate=1,vcpu.preempt=0.01
for e in $executors; do
	run 3 "$shootdown" --vendor vmx --vcpus 8 --executor "$e" --seed 1 \
		--fault vmx.skip_migration_flush=1,$mig
	run 3 "$pcid" --vendor svm --asids 3 --vcpus 8 --executor "$e" --seed 1 \
		--fault svm.skip_generation_flush=1
	run 3 "$shootdown" --vendor vmx --tdp off --vcpus 8 --executor "$e" --seed 1 \
		--fault shadow.skip_sync=1
	run 3 "$shootdown" --vendor svm --tdp off --vcpus 8 --executor "$e" --seed 1 \
		--fault shadow.skip_sync=1
	run 3 "$shootdown" --vendor vmx --vpids 1 --vcpus 8 --executor "$e" --seed 1 \
		--fault vmx.skip_vpid0_flush=1
	run 3 "$shootdown" --vendor vmx --tdp off --vpids 1 --vcpus 8 --executor "$e" --seed 1 \
		--fault vmx.skip_vpid0_flush=1
done
case " $executors " in
*" deterministic "*)
	run 3 "$shootdown" --vendor vmx --vcpus 8 --topology 2x1 --executor deterministic --seed 1 \
		--fault vmx.invept_keep_combined=1,hostmem.migrate=0.01
	run 3 "$shootdown" --vendor vmx --vcpus 8 --topology 2x1 --executor deterministic --seed 1 \
		--fault flush.remote_no_wait=1,hostmem.migrate=0.01
	# The host violation report names the freed frame.
	if ! grep -q "host violation: vCPU [0-9]* on pCPU [0-9]* used a translation of 0x[0-9a-f]* to host frame" <<<"$out"; then
		echo "FAIL: the host violation report lacks its parts"
		fails=$((fails + 1))
	fi
	;;
esac
echo "vendors: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
