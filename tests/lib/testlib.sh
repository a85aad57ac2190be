# testlib.sh: what the shell tests share (sourced, never run): the pass and
# fail counters, ok/ko to record a case, expect to run a command and check
# its exit status and output, is/has to compare a value or grep a file,
# libvirt_left to count what a test left on qemu:///system, and finish to print the closing
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
is() { # name got want
	if [ "$2" = "$3" ]; then ok "$1"; else ko "$1" "got \"$2\", expected \"$3\""; fi
}
has() { # name regex file
	if grep -Eq -- "$2" "$3"; then ok "$1"; else ko "$1" "no line matches /$2/ in:" "$(cat "$3")"; fi
}
# libvirt_left PREFIX domains|networks|volumes: how many of that kind on
# qemu:///system (volumes: in the pool "tssrlab") have PREFIX in their name.
libvirt_left() {
	local what
	case $2 in
	domains) what="list --all --name" ;;
	networks) what="net-list --all --name" ;;
	volumes) what="vol-list tssrlab" ;;
	*) echo "libvirt_left: unknown kind $2" >&2; return 2 ;;
	esac
	# shellcheck disable=SC2086
	virsh -c qemu:///system $what 2>/dev/null | grep -c -- "$1" || true
}
finish() {
	echo "$pass passed, $fail failed"
	[[ $fail -eq 0 ]]
}
