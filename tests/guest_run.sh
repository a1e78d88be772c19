# Sourced by the guest-suite scripts: run WANT_STATUS ELF ARGS... runs
# reqvisor ($rv) on ELF with the oracle full, plus the caller's ${extra[@]},
# and counts it in $passes or $fails (printing why); $out keeps the output.
fails=0 passes=0 out=
extra=()

run() {
	local want=$1 elf=$2
	shift 2
	out=$("$rv" run "$elf" --quiet --oracle full "${extra[@]}" "$@" 2>&1)
	local got=$?
	if [ "$got" -ne "$want" ]; then
		echo "FAIL: $(basename "$elf") $* -> status $got (want $want)"
		echo "$out" | tail -3
		fails=$((fails + 1))
	else
		passes=$((passes + 1))
	fi
}
