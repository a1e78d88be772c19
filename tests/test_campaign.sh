#!/usr/bin/env bash
# reqvisor campaign (issue 8, docs/campaign.md): a small matrix with its JSON
# lines and verdicts; shards merged give the unsharded table, and merge finds
# a shard not given or a file cut short; a failing run's replay reproduces
# its first violation, and is quoted for sh; campaign files; the verdicts
# that must fail (a breaking point never caught, a benign run that fails, a
# run killed at the timeout, with the violations it had found); bad input;
# the built-in campaigns.
# RV_CAMPAIGN_QUICK=1 (the ASan run) leaves out shards, replays and the
# built-in mutation campaign; RV_CAMPAIGN_SKIP=1 (the TSan run: the campaign's concurrency is
# processes, and its children's threads are tested elsewhere) skips it all.
# Usage: test_campaign.sh REQVISOR GUESTS_DIR
set -u
rv=$1 guests=$2
if [ -n "${RV_CAMPAIGN_SKIP:-}" ]; then
	echo "campaign: skipped (RV_CAMPAIGN_SKIP)"
	exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0

check() { # check WHAT COND...
	local what=$1
	shift
	if "$@"; then
		passes=$((passes + 1))
	else
		echo "FAIL: $what"
		fails=$((fails + 1))
	fi
}

campaign() { # campaign WANT_STATUS ARGS...: output in $out
	local want=$1
	shift
	out=$("$rv" campaign --guests "$guests" --jobs 2 "$@" 2>&1)
	local got=$?
	check "campaign $* -> status $got (want $want): $(tail -3 <<<"$out")" [ "$got" -eq "$want" ]
}

has() { grep -q -- "$1" <<<"$out"; }
lacks() { ! has "$1"; }

# A matrix: two vendors x no fault and a breaking point x two seeds.
matrix=(--guest shootdown --vendor vmx,svm --vcpus 4 --fault none --fault tlb.skip_invlpg
	--seeds 1-2)
campaign 0 "${matrix[@]}" --out "$tmp/all.jsonl"
check "8 JSON lines" [ "$(wc -l <"$tmp/all.jsonl")" -eq 8 ]
check "tlb.skip_invlpg caught" has "tlb.skip_invlpg  *breaking  *4  *4  caught"
check "no-fault runs clean" has "(no fault)  *benign  *4  *0  clean"
check "mutation score printed" has "mutation score: 1/1 breaking points caught = 100.0%"
check "records carry the outcome" grep -q '"outcome":"violation"' "$tmp/all.jsonl"
table() { grep -E '^(tlb|\(no)' <<<"$1" | sort; }
full=$(table "$out")
check "records say the campaign's size and shard" \
	[ "$(grep -c '"campaign_runs":8,"shard":0,"shards":1,' "$tmp/all.jsonl")" -eq 8 ]

# Merge finds runs missing from the records: a file cut short.
grep -v -e '"index":2,' -e '"index":3,' "$tmp/all.jsonl" >"$tmp/cut.jsonl"
out=$("$rv" campaign merge "$tmp/cut.jsonl" 2>&1)
check "merge refuses a file cut short (status $?)" [ $? -eq 2 ]
check "... naming the runs missing" has "runs 2..3 missing (the file cut short?)"
check "... and how many" has "2 of the campaign's 8 runs missing"
# Records of two campaigns (another size) do not merge.
sed '1s/"campaign_runs":8,/"campaign_runs":9,/' "$tmp/all.jsonl" >"$tmp/two.jsonl"
out=$("$rv" campaign merge "$tmp/two.jsonl" 2>&1)
check "merge refuses records of two campaigns (status $?)" [ $? -eq 2 ]
check "... and says why" has "records of two campaigns?"
# Records without the campaign's size (an older reqvisor's) still merge.
sed 's/"campaign_runs":[0-9]*,"shard":[0-9]*,"shards":[0-9]*,//' "$tmp/all.jsonl" >"$tmp/old.jsonl"
out=$("$rv" campaign merge "$tmp/old.jsonl" 2>&1)
check "merge reads older records (status $?)" [ $? -eq 0 ]
check "... warning that it cannot find missing runs" has "missing runs cannot be found"
check "... to the same table" [ "$(table "$out")" = "$full" ]

if [ -z "${RV_CAMPAIGN_QUICK:-}" ]; then
	# Shards: together, exactly the whole campaign; merged, the same table.
	campaign 0 "${matrix[@]}" --shard 0/3 --out "$tmp/s0.jsonl"
	campaign 0 "${matrix[@]}" --shard 1/3 --out "$tmp/s1.jsonl"
	campaign 0 "${matrix[@]}" --shard 2/3 --out "$tmp/s2.jsonl"
	check "shards cover the runs once" [ "$(cat "$tmp"/s?.jsonl | grep -o '"index":[0-9]*' |
		sort -u | wc -l)" -eq 8 ]
	check "shard records say their shard" grep -q '"campaign_runs":8,"shard":1,"shards":3,' \
		"$tmp/s1.jsonl"
	out=$("$rv" campaign merge "$tmp"/s0.jsonl "$tmp"/s1.jsonl "$tmp"/s2.jsonl 2>&1)
	check "merge exits 0" [ $? -eq 0 ]
	check "merged table = unsharded table" [ "$(table "$out")" = "$full" ]
	# A shard not given: runs 1, 4 and 7 (shard 1 of 3) are missing.
	out=$("$rv" campaign merge "$tmp"/s0.jsonl "$tmp"/s2.jsonl 2>&1)
	check "merge of 2 of 3 shards fails (status $?)" [ $? -eq 2 ]
	check "... naming the shard not given" has "runs 1..7 missing (shard 1/3 not given?)"
	check "... and how many runs" has "3 of the campaign's 8 runs missing"
	check "... with no table" lacks "mutation score"
	# A shard's file cut short.
	grep -v '"index":4,' "$tmp/s1.jsonl" >"$tmp/s1cut.jsonl"
	out=$("$rv" campaign merge "$tmp"/s0.jsonl "$tmp"/s1cut.jsonl "$tmp"/s2.jsonl 2>&1)
	check "merge of a shard cut short fails (status $?)" [ $? -eq 2 ]
	check "... naming its run" has "run 4 missing: 1 of shard 1/3's 3 runs (its file cut short?)"

	# Replay: the command in a violation's record reproduces its first report.
	rec=$(grep '"outcome":"violation"' "$tmp/all.jsonl" | head -1)
	want=$(sed 's/.*"first_violation":"\([^"]*\)".*/\1/' <<<"$rec")
	replay=$(sed 's/.*"replay":"\([^"]*\)".*/\1/' <<<"$rec")
	got=$(sh -c "$replay --quiet" 2>&1 | grep '^reqvisor: oracle:' |
		sed 's/^reqvisor: //; s/ ([0-9]* violations in all)$//')
	check "replay reproduces the first violation: [$got] vs [$want]" test -n "$want" -a "$got" = "$want"
fi

# A campaign file.
cat >"$tmp/c.campaign" <<'EOF'
# shootdown, a benign point, two seeds
guest shootdown --rounds 8
vcpus 2 3
fault kick.drop=0.05
seeds 4-5
EOF
campaign 0 "$tmp/c.campaign"
check "campaign file: kick.drop clean over 4 runs" has "kick.drop  *benign  *4  *0  clean"

# Verdicts that must fail.
campaign 1 --guest shootdown --fault hv.skip_fifo_drain=1
check "a breaking point never caught is MISSED" has "hv.skip_fifo_drain.*MISSED"
campaign 1 --guest nvmx
check "a benign run whose guest fails is FAILED" has "(no fault).*FAILED"
check "a failing run gets a replay line" has "replay: .*nvmx.elf"

# Replay lines are quoted for sh: a reqvisor and its guests in a directory
# named with a space, quotes, ; $ * and a backslash, and a run option with
# them. The line, run by sh, is the run's command: the same argv, and the
# same failure.
awk="$tmp/a b'c\"d;e\$f*g\\h"
mkdir -p "$awk/guests"
cp "$rv" "$awk/reqvisor"
ln -s "$(cd "$guests" && pwd)/nvmx.elf" "$awk/guests/nvmx.elf"
stats="$tmp/st;\$x*'\"\\.json"
out=$("$awk/reqvisor" campaign --jobs 1 --guest "nvmx --stats $stats" 2>&1)
check "an awkward path's campaign fails as its guest does (status $?)" [ $? -eq 1 ]
replay=$(sed -n 's/^  replay: //p' <<<"$out")
want=("$awk/reqvisor" run "$awk/guests/nvmx.elf" --oracle full --vendor vmx --tdp on --vcpus 2
	--stats "$stats" --executor deterministic --seed 1)
check "the replay line is one sh word per argument: [$replay]" \
	[ "$(sh -c "printf '%s\n' $replay")" = "$(printf '%s\n' "${want[@]}")" ]
check "... and the same in bash" [ "$(eval "printf '%s\n' $replay")" = "$(printf '%s\n' "${want[@]}")" ]
report=$(grep -A1 '^run 0 guest-failed' <<<"$out" | sed -n '2s/^  //p')
rm -f "$stats"
got=$(sh -c "$replay --quiet" 2>&1 | tail -1)
check "... that reproduces the run: [$got] vs [$report]" test -n "$report" -a "$got" = "$report"
check "... writing the stats where the run did" test -s "$stats"
campaign 1 --guest "shootdown --rounds 1000000" --timeout 1 --out "$tmp/hung.jsonl"
check "a run past the timeout is hung" grep -q '"outcome":"hung"' "$tmp/hung.jsonl"
check "its watchdog reported the vCPUs" grep -q 'watchdog: the run did not end within 1 s; the vCPUs:  *vCPU 0: .*RIP 0x' "$tmp/hung.jsonl"
check "... and no violation" grep -q '"violations":0,' "$tmp/hung.jsonl"
# A hung run keeps the violations it had found: one VPID for 8 vCPUs with
# VPID 0's flush skipped is caught in the first rounds, and a million
# rounds outlast the timeout.
campaign 1 --guest "shootdown --vpids 1 --rounds 1000000" --vcpus 8 \
	--fault vmx.skip_vpid0_flush=1 --timeout 2 --out "$tmp/hungv.jsonl"
check "a hung run with violations is hung" grep -q '"outcome":"hung"' "$tmp/hungv.jsonl"
check "... with their count and the first, then its watchdog's report" grep -q \
	'"violations":[1-9][0-9]*,.*"first_violation":"oracle: vCPU [0-9]* .*; watchdog: the run did not end within 2 s; the vCPUs:  *vCPU 0: ' \
	"$tmp/hungv.jsonl"
check "... its point counted as caught" has "vmx.skip_vpid0_flush  *breaking  *1  *1  caught"
check "... and the run listed as hung" has "^run 0 hung: vmx.skip_vpid0_flush=1"
check "... with the oracle's report" has "^  oracle: vCPU [0-9]* .*; watchdog: the run did not end"

# Bad input: status 2 with a reason.
printf 'guest shootdown\nflavour sweet\n' >"$tmp/bad.campaign"
campaign 2 "$tmp/bad.campaign"
check "bad key named with its line" has "bad.campaign:2: unknown key 'flavour'"
printf 'guest shootdown\nfault no.such_point=1\n' >"$tmp/bad2.campaign"
campaign 2 "$tmp/bad2.campaign"
check "bad fault named with its line" has "bad2.campaign:2 no.such_point=1: "
campaign 2 --guest shootdown --fault no.such_point
campaign 2 --guest shootdown --seeds 5-1
campaign 2 --guest shootdown --seeds 18446744073709551615
campaign 2 --guest shootdown --seeds -1
campaign 2 --guest "shootdown $(printf -- '-q %.0s' $(seq 70))"
check "too many run options refused" has "run options are too long"
campaign 2 --guest shootdown --seeds 1-500000 --vcpus 1,2,3
check "a campaign past a million runs refused" has "a campaign may have at most"
campaign 2 --guest shootdown --shard 3/3
campaign 2 --vcpus 2
echo '{"index":1}' >"$tmp/junk.jsonl"
out=$("$rv" campaign merge "$tmp/junk.jsonl" 2>&1)
check "merge refuses a non-record" [ $? -eq 2 ]
out=$("$rv" campaign merge "$tmp/all.jsonl" "$tmp/all.jsonl" 2>&1)
check "merge refuses a shard given twice" [ $? -eq 2 ]
check "... and says why" has "appears twice"

# Children are reaped even when SIGCHLD was ignored by whoever started us.
if command -v perl >/dev/null; then
	out=$(timeout 120 perl -e '$SIG{CHLD}="IGNORE"; exec @ARGV' "$rv" campaign \
		--guests "$guests" --guest shootdown --seeds 1-2 2>&1)
	check "a campaign started with SIGCHLD ignored ends (status $?)" [ $? -eq 0 ]
fi

# The built-in campaigns.
campaign 0 --builtin benign --runs 16 --seeds 3
check "benign: 16 runs" has "^16 runs, 0 that did not"
if [ -z "${RV_CAMPAIGN_QUICK:-}" ]; then
	# Every breaking point is caught within its 3 deterministic runs
	# (entry.no_recheck through the deterministic executor's window
	# between a vCPU's service and its entry): a score of 100%, status 0.
	out=$("$rv" campaign --guests "$guests" --jobs 2 --builtin mutation 2>&1)
	st=$?
	check "mutation: all 30 points caught" [ "$(grep -c ' caught (first at run' <<<"$out")" -eq 30 ]
	check "mutation: status 0 (got $st)" [ "$st" -eq 0 ]
	check "mutation score 30/30" has "mutation score: 30/30 breaking points caught = 100.0%"
fi

echo "campaign: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
