# testlib.sh: what the shell tests share (sourced, never run): the pass and
# fail counters, ok/ko to record a case, expect to run a command and check
# its exit status and output, and finish to print the closing
# "N passed, N failed" and set the exit status.
pass=0 fail=0
ok() { echo "ok   $1"; pass=$((pass + 1)); }
ko() { echo "FAIL $1"; shift; printf '  %s\n' "$@"; fail=$((fail + 1)); }
expect() { # name want_rc want_regex cmd...
	local name=$1 rc=$2 re=$3
	shift 3
	local out code
	out=$("$@" 2>&1)
	code=$?
	if [[ $code -ne $rc ]]; then
		ko "$name" "exit $code, expected $rc" "$out"
	elif ! grep -Eq -- "$re" <<<"$out"; then
		ko "$name" "output does not match /$re/:" "$out"
	else
		ok "$name"
	fi
}
finish() {
	echo "$pass passed, $fail failed"
	[[ $fail -eq 0 ]]
}
