#!/usr/bin/env bash
# One entry point for people and CI: install what is missing, build, then run or test.
#   ./dev.sh run [ARGS...]   build, then run `reqvisor run ARGS...`
#   ./dev.sh test            build, then run the whole test suite
#   ./dev.sh bench [ARGS...] build, then run `reqvisor-bench ARGS...`
#   ./dev.sh build           install and build only
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES="build-essential meson ninja-build pkg-config liburcu-dev libjemalloc-dev libnuma-dev check python3 python3-matplotlib"

install_missing() {
	local missing=()
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "dev.sh: installing ${missing[*]}" >&2
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Run quietly, but show everything the command printed when it fails.
quiet() {
	local log
	log=$(mktemp)
	if ! "$@" >"$log" 2>&1; then
		cat "$log" >&2
		rm -f "$log"
		echo "dev.sh: failed: $*" >&2
		exit 1
	fi
	rm -f "$log"
}

build() {
	local dir=${BUILD_DIR:-build}
	if [ ! -f "$dir/build.ninja" ]; then
		quiet meson setup "$dir" ${MESON_ARGS:-}
	fi
	quiet ninja -C "$dir"
}

cmd=${1:-run}
[ $# -gt 0 ] && shift
install_missing
build
dir=${BUILD_DIR:-build}
case "$cmd" in
run) exec "$dir/reqvisor" run "$@" ;;
test) exec meson test -C "$dir" --print-errorlogs "$@" ;;
bench) exec "$dir/bench/reqvisor-bench" "$@" ;;
build) ;;
*) echo "usage: ./dev.sh run|test|bench|build [ARGS...]" >&2; exit 2 ;;
esac
