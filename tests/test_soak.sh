#!/usr/bin/env bash
# The soak (reqvisor-bench soak): VMs of 1024 vCPUs running shootdown and
# hv-shootdown under random benign faults with the oracle sampling, for 30 s
# (RV_SOAK_SECONDS; RV_SOAK_VCPUS for the sanitizer runs). It must print
# "soak: clean": every guest passed, no violation, RSS after each teardown
# flat, no vCPU stuck (the watchdog would have ended it with status 1).
# Under ASan, LeakSanitizer checks the whole soak at exit.
# Usage: test_soak.sh REQVISOR_BENCH
set -u
bench=$1
out=$("$bench" soak --seconds "${RV_SOAK_SECONDS:-30}" --vcpus "${RV_SOAK_VCPUS:-1024}" 2>&1)
rc=$?
echo "$out"
[ $rc -eq 0 ] && grep -q "^soak: clean" <<<"$out"
