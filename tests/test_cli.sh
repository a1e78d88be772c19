#!/usr/bin/env bash
# The reqvisor command: exit statuses and messages for good and bad input.
set -u
rv=$1
mini=$2
fails=0 passes=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

expect() { # expect STATUS PATTERN -- ARGS...
	local want=$1 pattern=$2
	shift 3
	"$rv" "$@" >"$tmp/out" 2>"$tmp/err"
	local got=$?
	if [ "$got" -ne "$want" ] || ! grep -qE -- "$pattern" "$tmp/out" "$tmp/err"; then
		echo "FAIL: reqvisor $* -> status $got (want $want), output:"
		cat "$tmp/out" "$tmp/err" | head -5
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}

expect 0 "finished" -- run --synthetic --vcpus 4 --pcpus 2 --rounds 5
expect 0 "trace: [0-9]+ events" -- run --synthetic --executor deterministic --rounds 3
expect 0 "no stale contents seen" -- run --vcpus 4 --rounds 4
expect 0 "usage" -- run --help
expect 2 "usage" --
expect 2 "unknown command" -- frobnicate
expect 2 "unknown or incomplete option" -- run --bogus
expect 2 "unknown or incomplete option" -- run --vcpus
expect 2 "vcpus takes 1 to 4096" -- run --vcpus 0
expect 2 "vcpus takes 1 to 4096" -- run --vcpus 5000
expect 2 "vcpus takes 1 to 4096" -- run --vcpus 12abc
expect 2 "pcpus takes" -- run --pcpus 0
expect 2 "executor takes" -- run --executor fast
expect 2 "topology takes" -- run --topology 4
expect 2 "topology takes" -- run --topology 0x2
expect 2 "unknown fault point 'kick.nope'" -- run --fault kick.nope
expect 2 "probability" -- run --fault kick.drop=7
expect 2 "script: cannot parse 'jump 3'" -- run --script "run 3; jump 3"
expect 2 "script: empty" -- run --script " ; "
expect 2 "cannot open guest image 'guest.elf'" -- run guest.elf
head -c 200 /dev/zero >"$tmp/zeros"
printf 'EL' >"$tmp/short"
expect 2 "not an ELF file" -- run "$tmp/zeros"
expect 2 "truncated file" -- run "$tmp/short"
expect 2 "must be at least 16 MiB" -- run "$mini" --mem 8M
expect 2 "mem takes a size" -- run "$mini" --mem lots
expect 2 "vendor takes vmx or svm" -- run "$mini" --vendor arm
expect 2 "tdp takes on or off" -- run "$mini" --tdp maybe
expect 2 "vpids takes 1 to 65536" -- run "$mini" --vpids 0
expect 2 "asids takes 2 to 65536" -- run "$mini" --asids 1
expect 2 "svm-flush takes tlb-control or new-asid" -- run "$mini" --svm-flush never
expect 2 "one guest image at a time" -- run "$mini" "$mini"
expect 2 "tlb takes SETSxWAYS" -- run "$mini" --tlb 100x8
expect 2 "oracle takes off, sample or full" -- run "$mini" --oracle most
expect 0 "all 2" -- run "$mini" --vcpus 2 --tlb 1x1 --oracle full
expect 0 "1 I/O ports used that no device answers" -- run "$mini" --vcpus 3 --stats "$tmp/g.json"
if ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['backend']['unknown_ports'] == ['0x80'] and d['backend']['oracle_violations'] == 0" "$tmp/g.json"; then
	echo "FAIL: guest --stats JSON"
	fails=$((fails + 1))
else
	passes=$((passes + 1))
fi
expect 2 "synthetic runs no guest image" -- run --synthetic "$mini"
expect 0 "^\[3\] vcpu 3" -- run "$mini" --vcpus 4 --console-prefix --quiet
expect 0 "all 2" -- run "$mini" --vcpus 2 --executor deterministic --vendor svm
expect 2 "seed takes a number" -- run --seed x
expect 1 "hung" -- run --script "halt" --executor deterministic
expect 1 "hung" -- run --script "halt" --vcpus 2 --pcpus 2
expect 0 "fault kick.drop +fired" -- run --synthetic --executor deterministic --fault kick.drop=0.5 --rounds 5
expect 0 "finished" -- run --synthetic --topology 2x2 --vcpus 16 --rounds 3 --stats "$tmp/s.json"
if ! python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d['vm']['vcpus']==16 and len(d['vcpus'])==16 and d['vm']['nodes']==2" "$tmp/s.json"; then
	echo "FAIL: --stats JSON"
	fails=$((fails + 1))
else
	passes=$((passes + 1))
fi
expect 2 "cannot write stats" -- run --synthetic --rounds 1 --stats /nonexistent/dir/s.json
# NUMA placement, read back from the kernel: on a one-node host the declared
# nodes all map to host node 0 through the same code.
expect 0 "numa: 4 nodes \(declared\)" -- run --topology 4x1 --vcpus 8 --pcpus 4 --rounds 8 --stats "$tmp/n.json"
if ! python3 - "$tmp/n.json" <<'PY'; then
import json, sys
n = json.load(open(sys.argv[1]))['backend']['numa']
assert n['declared'] and n['nr_nodes'] == 4 and len(n['nodes']) == 4, n
assert n['guest_memory_layout'] == 'node-local'
assert sorted(v for nd in n['nodes'] for v in nd['vcpus']) == list(range(8))
for k, nd in enumerate(n['nodes']):
    assert nd['node'] == k and nd['nr_pcpus'] == 1 and nd['nr_vcpus'] == 2, nd
    p = nd['pcpus'][0]
    assert p['index'] == k and p['pin'] and p['pinned'] and p['pin_error'] == 0, p
    assert p['cpus_seen'] == [p['host_cpu']], p
    assert nd['guest_ram_bytes'] == 64 << 20 and nd['host_bytes'] >= nd['guest_ram_bytes']
    m = nd['memory']
    if n['libnuma']:
        assert m['policy'] == 'bind' and m['policy_nodes'] == [nd['host_node']], m
        assert m['pages']['on_node'] == m['pages']['present'] and m['pages']['failed'] == 0
        assert nd['objects']['asked'] == 3 and nd['objects']['failed'] == 0
    if nd['arena'] is not None:
        a = nd['arena']
        assert a['host_node'] == nd['host_node'] and a['bind_failures'] == 0, a
        assert a['bound_bytes'] > 0 and nd['objects']['on_node'] == 3, nd
assert sum(nd['memory']['pages']['present'] for nd in n['nodes']) > 0
PY
	echo "FAIL: --topology placement in --stats"
	fails=$((fails + 1))
else
	passes=$((passes + 1))
fi

echo "$passes passed, $fails failed"
[ "$fails" -eq 0 ]
