#!/usr/bin/env bash
# The guest suite: each guest on the machine in both executors and at several
# vCPU counts; each must exit 0 (the guests check themselves). And the proof
# that the oracle can fail: with INVLPG's TLB work skipped (fault point
# tlb.skip_invlpg) it must report a violation (status 3). The oracle is full.
# Usage: test_guests.sh REQVISOR GUEST.elf NAME [COUNTS...]
set -u
rv=$1 elf=$2 name=$3
shift 3
counts=${*:-1 2 8 64}
# Sanitizer runs take fewer vCPUs: RV_GUEST_COUNTS="1 2 8".
counts=${RV_GUEST_COUNTS:-$counts}
fails=0 passes=0 out=

run() { # run WANT_STATUS ARGS...
	local want=$1
	shift
	out=$("$rv" run "$elf" --quiet --oracle full "$@" 2>&1)
	local got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $name $* -> status $got (want $want)"
		echo "$out" | tail -5
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}

for n in $counts; do
	extra=(--mem 256M)
	# The 1024-vCPU runs are short: two rounds.
	[ "$n" -ge 512 ] && extra=(--mem 1G --rounds 2)
	run 0 --vcpus "$n" "${extra[@]}" --executor threads
	run 0 --vcpus "$n" "${extra[@]}" --executor deterministic --seed "$n"
done
# Skipping INVLPG's TLB work must be caught by the oracle (status 3).
if [ "$name" = shootdown ]; then
	run 3 --vcpus 4 --fault tlb.skip_invlpg
	run 3 --vcpus 4 --executor deterministic --fault tlb.skip_invlpg
	# The report names what docs/oracle.md promises.
	report=$("$rv" run "$elf" --quiet --oracle full --vcpus 4 --executor deterministic \
		--seed 7 --fault tlb.skip_invlpg 2>&1)
	for part in "vCPU [0-9]* on pCPU [0-9]* used a stale translation of 0x" \
		"cached frame 0x" "page tables now give" "INVLPG of 0x[0-9a-f]* at time [0-9]* had covered it" \
		"last requests serviced: " "seed 7"; do
		if ! grep -q "$part" <<<"$report"; then
			echo "FAIL: $name oracle report lacks '$part'"
			fails=$((fails + 1))
		fi
	done
fi
echo "$name: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
