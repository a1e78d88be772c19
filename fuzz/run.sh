#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, ASan + UBSan) and run each for a
# bounded time: first over its regression inputs (fuzz/regressions/NAME),
# which must all pass, then fuzzing from its committed seed corpus
# (fuzz/corpus/NAME). New inputs go to a scratch corpus, not the repository.
#   fuzz/run.sh [SECONDS_PER_HARNESS] [NAME...]   (default 8 s, every harness)
# A crash leaves its input in build-fuzz/artifacts/ and ends with status 1;
# fix it, then add the input to fuzz/regressions/NAME/.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-8}
[ $# -gt 0 ] && shift
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(elf decode hypercall faults campaign_file campaign_record cmdline)
dir=${FUZZ_BUILD_DIR:-build-fuzz}

if ! command -v clang >/dev/null; then
	sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get install -y -qq clang >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq clang >/dev/null; }
fi
if [ ! -f "$dir/build.ninja" ]; then
	CC=clang meson setup "$dir" -Dfuzz=true -Dtests=false -Dbuildtype=debugoptimized \
		-Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true >/dev/null
fi
ninja -C "$dir" >/dev/null

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
mkdir -p "$dir/artifacts"
status=0
for n in "${names[@]}"; do
	bin="$dir/fuzz/fuzz_$n"
	[ -x "$bin" ] || { echo "fuzz: no harness '$n'" >&2; exit 2; }
	if [ -d "fuzz/regressions/$n" ] && [ -n "$(ls -A "fuzz/regressions/$n")" ]; then
		if ! "$bin" -close_fd_mask=2 fuzz/regressions/"$n"/* >"$dir/artifacts/$n.regress.log" 2>&1; then
			echo "fuzz $n: a regression input fails again (log: $dir/artifacts/$n.regress.log)"
			tail -30 "$dir/artifacts/$n.regress.log"
			status=1
			continue
		fi
	fi
	maxlen=4096
	[ "$n" = elf ] && maxlen=65536 # whole guest images
	scratch=$(mktemp -d)
	log="$dir/artifacts/$n.log"
	if "$bin" -max_total_time="$seconds" -max_len=$maxlen -timeout=10 -rss_limit_mb=2048 \
		-close_fd_mask=2 -artifact_prefix="$dir/artifacts/$n-" \
		"$scratch" "fuzz/corpus/$n" >"$log" 2>&1; then
		echo "fuzz $n: $(grep -Eo '#[0-9]+' "$log" | tail -1 | tr -d '#') inputs in ${seconds}s," \
			"corpus $(ls "$scratch" | wc -l) new + $(ls "fuzz/corpus/$n" | wc -l) seeds, no crash"
	else
		echo "fuzz $n: FAILED (log: $log)"
		grep -E "ERROR|SUMMARY|runtime error|Test unit written" "$log" | head -10
		status=1
	fi
	rm -rf "$scratch"
done
exit $status
