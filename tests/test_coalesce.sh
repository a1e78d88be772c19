#!/usr/bin/env bash
# reqvisor-bench coalesce --quick (docs/requests.md C8, C9): not a timing
# check. On every vendor and paging mode, reqvisor's rules must execute
# exactly the TLB operations the offline model says are necessary for the
# same trace (efficiency 1.00) and kick exactly the vCPUs in guest mode that
# a post reached; KVM's rules must exceed the minimum where C8 or C9 applies
# (else the model could not tell them apart), and eager flushing more still.
# Usage: test_coalesce.sh REQVISOR-BENCH
set -u
bench=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0 passes=0

check() { # check NAME CMD...
	if "${@:2}"; then
		passes=$((passes + 1))
	else
		echo "FAIL: $1"
		fails=$((fails + 1))
	fi
}

out=$("$bench" coalesce --quick --json "$tmp/c.json" 2>&1)
check "runs (status $?)" [ $? -eq 0 ]
echo "$out" | tail -5
check "reqvisor meets the minimum on all four" [ "$(grep -c ': reqvisor 1.00 (PASS)' <<<"$out")" -eq 4 ]
check "kicks are the minimum on all four" [ "$(grep -c 'kicks reqvisor = minimum' <<<"$out")" -eq 4 ]
python3 - "$tmp/c.json" <<'PY' || { echo "FAIL: the JSON"; fails=$((fails + 1)); }
import json, sys
d = json.load(open(sys.argv[1]))
rows = {(r["config"], r["strategy"]): r for r in d["rows"]}
cfgs = sorted({c for c, _ in rows})
assert len(cfgs) == 4, cfgs
for c in cfgs:
    m, k, r, e = (rows[c, s] for s in ("minimum", "kvm", "reqvisor", "eager"))
    assert r["flushes"] == m["flushes"], (c, r, m)
    assert k["flushes"] >= r["flushes"] and e["flushes"] > k["flushes"], (c, k, e)
    assert e["kicks"] > r["kicks"] == m["kicks"], (c, e, r)
# C9 on VMX with shadow paging, C8 with EPT: KVM's rules do more there.
assert rows["vmx, shadow", "kvm"]["flushes"] > rows["vmx, shadow", "reqvisor"]["flushes"]
assert rows["vmx, EPT", "kvm"]["flushes"] > rows["vmx, EPT", "reqvisor"]["flushes"]
PY
# A different trace: the same holds.
out=$("$bench" coalesce --storms 500 --seed 7 2>&1)
check "seed 7: reqvisor meets the minimum" [ "$(grep -c ': reqvisor 1.00 (PASS)' <<<"$out")" -eq 4 ]
out=$("$bench" coalesce --storms 0 2>&1)
check "--storms 0 refused (status $?)" [ $? -eq 2 ]
echo "coalesce: $passes passed, $fails failed"
[ "$fails" -eq 0 ]
