# tssrlab sh agent, protocol 1. Runs a batch of probes inside a Linux guest
# and prints one JSON record per probe. Must run the same under busybox sh,
# dash and bash; the full protocol is in docs/agent-protocol.md.
#
# How it is run. The orchestrator opens ONE SSH exec channel with the fixed
# command
#     exec /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C /bin/sh -s
# so that nothing of the account's environment applies (aliases, functions,
# PATH, ENV, BASH_ENV, exported bash functions), and writes on stdin this
# file followed by the batch:
#     tl_begin NONCE VALUE_CAP OUTPUT_CAP HASH(0|1)
#     tl_p INDEX TIMEOUT_S KIND 'arg' 'arg' ...     one line per probe
#     tl_end COUNT
# Arguments are single-quoted by the orchestrator and passed in the order
# of the kind's arguments in orchestrator/defs/probekinds.c (absent
# optional ones as ''; lists as one argument, one item per line).
#
# What it prints (stdout, one JSON object per line, nothing else):
#     {"tl":1,"n":NONCE,"t":"start","proto":1}
#     {"tl":1,"n":NONCE,"t":"probe","i":0,"s":"done","ok":true,"x":0,"h":-1,
#      "ms":12,"c":HEX,"v":HEX,"o":HEX,"m":HEX,"tr":"v"}    one per probe
#     {"tl":1,"n":NONCE,"t":"bin","name":"systemctl","p":"/usr/bin/systemctl",
#      "sha256":"..."}                                       one per tool used
#     {"tl":1,"n":NONCE,"t":"end","count":N}
# or {"tl":1,"n":NONCE,"t":"abort","why":HEX} when it cannot work at all.
# s is done (the probe ran: ok is its verdict) or error (it could not run:
# m says why, e.g. a missing tool). c is the command that ran (evidence),
# v the value, o the output shown as evidence, m the error message; all
# four are hex-encoded (od) because they carry bytes the trainee controls,
# so nothing a trainee writes can break or inject JSON. tr lists the fields
# cut at their cap. x is the exit status of the command, h the HTTP status.
# Records come out at the end of the batch, encoded by one od and one awk
# for the whole batch (processes are expensive on an emulated guest).
#
# Defences (the trainee is root on this machine): every tool is called by
# an absolute path found in fixed folders, never through PATH lookup or
# `command -p`; IFS, CDPATH, ENV and BASH_ENV are reset; each tool is
# reported in a "bin" record with its SHA-256 when HASH is 1, and the
# orchestrator compares them with the image's hashes.json; the nonce ties
# every record to this run, so canned or replayed output is detected.
# Every tool runs with stdin from /dev/null (it must not eat the batch),
# under a per-probe deadline enforced by a watchdog, and with a file size
# ceiling so that a runaway command cannot fill the guest's memory.

unset IFS CDPATH ENV BASH_ENV
export LC_ALL=C PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
umask 077
set -f

TL_PROTO=1
TL_DIRS='/usr/sbin /usr/bin /sbin /bin'
TL_NULL=/dev/null
TL_META=
TL_BINS=
TL_N=0
TL_T=
TL_WD=
TL_HASH=0
TL_FSIZE=16384 # ulimit -f blocks (8 to 16 MiB depending on the shell)

# ---- small helpers -------------------------------------------------------

# tl_now: milliseconds since boot in TL_NOW, from /proc/uptime (no process).
tl_now() {
	TL_NOW=0
	read -r TL_UP TL_UP2 </proc/uptime 2>/dev/null || return 0
	TL_UPS=${TL_UP%.*}
	TL_UPF=${TL_UP#*.}
	case $TL_UPS$TL_UPF in *[!0-9]* | '') return 0 ;; esac
	case $TL_UPF in 0?) TL_UPF=${TL_UPF#0} ;; ?) TL_UPF=${TL_UPF}0 ;; esac
	TL_NOW=$((TL_UPS * 1000 + TL_UPF * 10))
}

# tl_epoch: seconds since 1970 in TL_EPOCH, from /proc/stat's btime and the
# uptime (no process).
tl_epoch() {
	TL_EPOCH=
	while read -r TL_A TL_B2 TL_REST; do
		if [ "$TL_A" = btime ]; then
			tl_now
			case $TL_B2 in '' | *[!0-9]*) return 1 ;; esac
			TL_EPOCH=$((TL_B2 + TL_NOW / 1000))
			return 0
		fi
	done </proc/stat
	return 1
}

# tl_q WORD: WORD quoted for the shell in TL_QS (evidence text only).
tl_q() {
	case $1 in
	'') TL_QS="''" ;;
	*[!A-Za-z0-9_./:=@%+,-]*)
		TL_QS=
		TL_QR=$1
		while :; do
			case $TL_QR in
			*\'*)
				TL_QS="$TL_QS${TL_QR%%\'*}'\\''"
				TL_QR=${TL_QR#*\'}
				;;
			*)
				TL_QS="$TL_QS$TL_QR"
				break
				;;
			esac
		done
		TL_QS="'$TL_QS'"
		;;
	*) TL_QS=$1 ;;
	esac
}

# tl_note TEXT: appends TEXT to the evidence command line.
tl_note() {
	TL_CMD="${TL_CMD:+$TL_CMD; }$1"
}

# tl_bin NAME: how to call tool NAME, in TL_B: its absolute path (first of
# the fixed folders), or, when the shell is busybox with its applets built
# in, the bare NAME of an applet: busybox then runs its own code, no file
# and no PATH involved, which is both cheaper (no exec) and harder to fake.
# Remembered for the integrity report (an applet is reported as /bin/sh,
# the binary it lives in). Returns 1 when absent.
tl_bin() {
	case $TL_BINS in
	*"B $1 "*)
		TL_B=${TL_BINS#*"B $1 "}
		TL_B=${TL_B%%"
"*}
		[ "$TL_B" = /bin/sh ] && [ "$1" != sh ] && TL_B=$1
		return 0
		;;
	esac
	if [ "$TL_APPLETS" = 1 ]; then
		type "$1" >"$TL_T/type" 2>/dev/null
		TL_TY=
		read -r TL_TY <"$TL_T/type"
		if [ "$TL_TY" = "$1 is $1" ]; then
			TL_B=$1
			TL_BINS="${TL_BINS}B $1 /bin/sh
"
			return 0
		fi
	fi
	for TL_BD in $TL_DIRS; do
		if [ -f "$TL_BD/$1" ] && [ -x "$TL_BD/$1" ]; then
			TL_B=$TL_BD/$1
			TL_BINS="${TL_BINS}B $1 $TL_B
"
			return 0
		fi
	done
	TL_B=
	return 1
}

# tl_fail MESSAGE: the probe could not run (status error).
tl_fail() {
	TL_ST=error
	TL_OK=0
	TL_MSG=$1
	return 1
}

# tl_need NAME: like tl_bin, but a missing tool makes the probe an error.
tl_need() {
	tl_bin "$1" && return 0
	tl_fail "$1: not found on this machine (looked in $TL_DIRS): ${2:-this probe needs it}"
}

# tl_line FILE: the first line of FILE in TL_L.
tl_line() {
	TL_L=
	IFS= read -r TL_L <"$1" 2>/dev/null
	return 0
}

# tl_errline: the first line of the last command's stderr in TL_L.
tl_errline() {
	tl_line "$TL_E"
	[ -n "$TL_L" ] || TL_L="exit status $TL_RC, no message"
}

# tl_left: whole seconds left before the probe's deadline (at least 1).
tl_left() {
	tl_now
	TL_LEFT=$(((TL_DL - TL_NOW + 999) / 1000))
	[ "$TL_LEFT" -ge 1 ] || TL_LEFT=1
}

# tl_x CMD ARGS...: runs a tool (absolute path) under the probe's deadline;
# stdout to TL_O, stderr to TL_E, status in TL_RC. The watchdog kills it at
# the deadline; then TL_TIMEDOUT is 1.
tl_x() {
	TL_ARGS=
	for TL_W in "$@"; do
		tl_q "$TL_W"
		TL_ARGS="${TL_ARGS:+$TL_ARGS }$TL_QS"
	done
	tl_note "$TL_ARGS"
	tl_now
	if [ "$TL_NOW" -ge "$TL_DL" ] && [ "$TL_DL" -gt 0 ]; then
		TL_TIMEDOUT=1
		TL_RC=124
		return 124
	fi
	(
		ulimit -f "$TL_FSIZE" 2>/dev/null
		exec "$@"
	) <"$TL_NULL" >"$TL_O" 2>"$TL_E" &
	TL_PID=$!
	printf '%s %s\n' "$TL_PID" "$TL_DL" >"$TL_T/cur"
	# (a job killed by a signal makes some shells print "Killed")
	wait "$TL_PID" 2>/dev/null
	TL_RC=$?
	: >"$TL_T/cur"
	if [ -s "$TL_T/killed" ]; then
		read -r TL_KP <"$TL_T/killed"
		[ "$TL_KP" = "$TL_PID" ] && TL_TIMEDOUT=1
		: >"$TL_T/killed"
	fi
	return "$TL_RC"
}

# tl_xo FILE CMD ARGS...: tl_x with stdout to FILE.
tl_xo() {
	TL_SAVE_O=$TL_O
	TL_O=$1
	shift
	tl_x "$@"
	TL_XRC=$?
	TL_O=$TL_SAVE_O
	return "$TL_XRC"
}

# tl_has_line FILE WORD: FILE has a line equal to WORD.
tl_has_line() {
	while IFS= read -r TL_HL; do
		[ "$TL_HL" = "$2" ] && return 0
	done <"$1"
	return 1
}

# tl_in_list LIST WORD: WORD is one of LIST's lines.
tl_in_list() {
	TL_IL=$1
	while [ -n "$TL_IL" ]; do
		TL_IW=${TL_IL%%
*}
		[ "$TL_IW" = "$2" ] && return 0
		case $TL_IL in
		*'
'*) TL_IL=${TL_IL#*
} ;;
		*) TL_IL= ;;
		esac
	done
	return 1
}

# tl_abs PATH: PATH must be absolute.
tl_abs() {
	case $1 in
	/*) return 0 ;;
	*) tl_fail "path \"$1\" is not absolute" ;;
	esac
}

# tl_systemd: systemd is the running init (sd_booted's test).
tl_systemd() {
	[ -d /run/systemd/system ]
}

# tl_pids NAME...: pids of processes whose name (comm, 15 characters) is
# one of NAMEs, one per line in TL_PIDS; reads /proc only.
tl_pids() {
	TL_PIDS=
	set +f
	for TL_PD in /proc/[0-9]*; do
		TL_C=
		read -r TL_C <"$TL_PD/comm" 2>/dev/null || continue
		for TL_PN in "$@"; do
			TL_PC=$TL_PN
			while [ ${#TL_PC} -gt 15 ]; do TL_PC=${TL_PC%?}; done
			if [ "$TL_C" = "$TL_PC" ]; then
				TL_PIDS="$TL_PIDS${TL_PD#/proc/}
"
				break
			fi
		done
	done
	set -f
	TL_PIDS=${TL_PIDS%
}
}

# ---- kinds: services, packages, accounts ---------------------------------

# Process names a service runs as, for machines without systemd.
tl_svc_names() {
	TL_SN=${1%.service}
	case $TL_SN in
	ssh | sshd) TL_SVC="sshd dropbear" ;;
	apache2 | httpd) TL_SVC="apache2 httpd" ;;
	bind9 | named) TL_SVC="named" ;;
	isc-dhcp-server) TL_SVC="dhcpd" ;;
	samba-ad-dc | samba) TL_SVC="samba" ;;
	smbd | nmbd | winbind) TL_SVC="$TL_SN ${TL_SN}d" ;;
	cron | crond) TL_SVC="cron crond" ;;
	rsyslog | syslog) TL_SVC="rsyslogd syslogd" ;;
	zabbix-agent) TL_SVC="zabbix_agentd" ;;
	zabbix-server) TL_SVC="zabbix_server" ;;
	openvpn*) TL_SVC="openvpn" ;;
	*) TL_SVC="$TL_SN ${TL_SN}d" ;;
	esac
}

tl_k_service_active() {
	if tl_systemd; then
		tl_need systemctl || return
		tl_x "$TL_B" is-active -- "$1"
		tl_line "$TL_O"
		TL_VAL=$TL_L
		TL_X=$TL_RC
		if [ -z "$TL_VAL" ] && [ "$TL_RC" -gt 4 ]; then
			tl_errline
			tl_fail "systemctl is-active failed: $TL_L"
			return
		fi
		[ "$TL_VAL" = active ] && TL_OK=1
		return 0
	fi
	# No systemd (busybox init, containers): a service is its process.
	tl_svc_names "$1"
	set -- $TL_SVC
	tl_pids "$@"
	tl_note "no systemd: looking for a process named $* in /proc/*/comm"
	printf '%s\n' "$TL_PIDS" >"$TL_O"
	if [ -n "$TL_PIDS" ]; then
		TL_VAL=active
		TL_OK=1
	else
		TL_VAL=inactive
	fi
}

tl_k_service_enabled() {
	if tl_bin systemctl; then
		# is-enabled reads unit files: it works even when systemd is
		# not running (chroots, containers).
		tl_x "$TL_B" is-enabled -- "$1"
		tl_line "$TL_O"
		TL_VAL=$TL_L
		TL_X=$TL_RC
		if [ -z "$TL_VAL" ]; then
			tl_errline
			case $TL_L in
			*"No such file"* | *"not found"* | *"does not exist"*)
				TL_VAL=not-found
				TL_OUTF=$TL_E
				return 0
				;;
			esac
			tl_fail "systemctl is-enabled failed: $TL_L"
			return
		fi
		case $TL_VAL in
		enabled | enabled-runtime | alias | generated) TL_OK=1 ;;
		esac
		return 0
	fi
	TL_SN=${1%.service}
	if [ -f "/etc/init.d/$TL_SN" ]; then
		set +f
		TL_VAL=disabled
		for TL_F in /etc/rc2.d/S??"$TL_SN" /etc/rc3.d/S??"$TL_SN" \
			/etc/rc4.d/S??"$TL_SN" /etc/rc5.d/S??"$TL_SN"; do
			[ -e "$TL_F" ] && TL_VAL=enabled && TL_OK=1
		done
		set -f
		tl_note "no systemctl: looking for /etc/rc[2-5].d/S??$TL_SN"
		return 0
	fi
	tl_fail "no systemctl and no /etc/init.d/$TL_SN: cannot tell whether $1 starts at boot on this image (not supported here)"
}

tl_k_package_installed() {
	if tl_bin dpkg-query; then
		tl_x "$TL_B" -W --showformat='${db:Status-Abbrev}|${Version}\n' -- "$1"
		TL_X=$TL_RC
		tl_line "$TL_O"
		case $TL_L in
		[ih]i*'|'*) TL_VAL=${TL_L#*|} ;;
		*) TL_VAL= ;;
		esac
	elif [ -r /var/lib/dpkg/status ] && tl_bin awk; then
		TL_PKG=$1
		export TL_PKG
		tl_x "$TL_B" 'BEGIN{RS=""} { p=""; s=""; v=""; n=split($0, L, "\n");
			for (k=1;k<=n;k++) { if (L[k] ~ /^Package: /) p=substr(L[k],10);
			else if (L[k] ~ /^Status: /) s=substr(L[k],9);
			else if (L[k] ~ /^Version: /) v=substr(L[k],10) }
			if (p == ENVIRON["TL_PKG"] && s ~ /installed$/ && s !~ /not-installed/) print v }' /var/lib/dpkg/status
		tl_line "$TL_O"
		TL_VAL=$TL_L
	else
		tl_fail "no Debian package database on this machine (no dpkg-query, no /var/lib/dpkg/status): package.installed is not supported on this image"
		return
	fi
	if [ -n "$TL_VAL" ]; then
		case $TL_VAL in "$2"*) TL_OK=1 ;; esac
	fi
}

# tl_passwd NAME: the passwd entry of NAME in TL_PW (getent, else
# /etc/passwd); fields in TL_PW_UID, TL_PW_GID, TL_PW_HOME, TL_PW_SHELL.
tl_passwd() {
	TL_PW=
	if tl_bin getent; then
		tl_x "$TL_B" passwd "$1"
		tl_line "$TL_O"
		TL_PW=$TL_L
	else
		tl_note "no getent: reading /etc/passwd"
		while IFS= read -r TL_L; do
			case $TL_L in "$1":*) TL_PW=$TL_L && break ;; esac
		done </etc/passwd
	fi
	[ -n "$TL_PW" ] || return 1
	IFS=: read -r TL_PW_NAME TL_PW_X TL_PW_UID TL_PW_GID TL_PW_GECOS TL_PW_HOME TL_PW_SHELL <<EOF
$TL_PW
EOF
	return 0
}

tl_k_user_exists() {
	if ! tl_passwd "$1"; then
		TL_VAL=
		return 0
	fi
	TL_VAL="$TL_PW_NAME:$TL_PW_UID:$TL_PW_GID:$TL_PW_HOME:$TL_PW_SHELL"
	TL_OK=1
	[ -z "$2" ] || [ "$2" = "$TL_PW_SHELL" ] || TL_OK=0
	[ -z "$3" ] || [ "$3" = "$TL_PW_HOME" ] || TL_OK=0
	if [ -n "$4" ]; then
		tl_need id || return
		tl_xo "$TL_T/$TL_I.g" "$TL_B" -Gn "$1"
		tl_line "$TL_T/$TL_I.g"
		TL_GS=" $TL_L "
		TL_IL=$4
		while [ -n "$TL_IL" ]; do
			TL_IW=${TL_IL%%
*}
			case $TL_GS in *" $TL_IW "*) ;; *) TL_OK=0 ;; esac
			case $TL_IL in *'
'*) TL_IL=${TL_IL#*
} ;; *) TL_IL= ;; esac
		done
		TL_OUTF=$TL_T/$TL_I.g
	fi
}

tl_k_user_sudo() {
	tl_need sudo || return
	tl_x "$TL_B" -n -l -U "$1"
	TL_X=$TL_RC
	TL_VALF=$TL_O
	if [ "$TL_RC" = 0 ] && tl_grep_fixed "$TL_O" "may run the following"; then
		TL_OK=1
	fi
}

# tl_grep_fixed FILE TEXT: a line of FILE contains TEXT (shell only).
tl_grep_fixed() {
	while IFS= read -r TL_GL; do
		case $TL_GL in *"$2"*) return 0 ;; esac
	done <"$1"
	return 1
}

tl_k_group_members() {
	TL_GR=
	if tl_bin getent; then
		tl_x "$TL_B" group "$1"
		tl_line "$TL_O"
		TL_GR=$TL_L
	else
		tl_note "no getent: reading /etc/group"
		while IFS= read -r TL_L; do
			case $TL_L in "$1":*) TL_GR=$TL_L && break ;; esac
		done </etc/group
	fi
	if [ -z "$TL_GR" ]; then
		TL_VAL=
		return 0
	fi
	IFS=: read -r TL_G_NAME TL_G_X TL_G_GID TL_G_MEM <<EOF
$TL_GR
EOF
	TL_VAL=
	TL_IL=$TL_G_MEM
	while [ -n "$TL_IL" ]; do
		TL_IW=${TL_IL%%,*}
		[ -n "$TL_IW" ] && TL_VAL="$TL_VAL$TL_IW
"
		case $TL_IL in *,*) TL_IL=${TL_IL#*,} ;; *) TL_IL= ;; esac
	done
	# members by primary group (local accounts)
	while IFS=: read -r TL_PN TL_PX TL_PU TL_PG TL_PR; do
		if [ "$TL_PG" = "$TL_G_GID" ] && ! tl_in_list "$TL_VAL" "$TL_PN"; then
			TL_VAL="$TL_VAL$TL_PN
"
		fi
	done </etc/passwd
	TL_VAL=${TL_VAL%
}
	TL_OK=1
	TL_IL2=$2
	while [ -n "$TL_IL2" ]; do
		TL_IW2=${TL_IL2%%
*}
		tl_in_list "$TL_VAL" "$TL_IW2" || TL_OK=0
		case $TL_IL2 in *'
'*) TL_IL2=${TL_IL2#*
} ;; *) TL_IL2= ;; esac
	done
}

# ---- kinds: files ----------------------------------------------------------

tl_ftype() {
	if [ -L "$1" ]; then TL_FT=link
	elif [ -d "$1" ]; then TL_FT=dir
	elif [ -f "$1" ]; then TL_FT=file
	elif [ -S "$1" ]; then TL_FT=socket
	elif [ -p "$1" ]; then TL_FT=fifo
	elif [ -b "$1" ]; then TL_FT=block
	elif [ -c "$1" ]; then TL_FT=char
	elif [ -e "$1" ]; then TL_FT=other
	else TL_FT=; return 1
	fi
	return 0
}

tl_k_file_exists() {
	tl_abs "$1" || return
	tl_q "$1"
	tl_note "test -e $TL_QS"
	tl_ftype "$1" || return 0
	TL_VAL=$TL_FT
	[ -z "$2" ] || [ "$2" = "$TL_FT" ] || return 0
	TL_OK=1
}

# tl_stat FORMAT PATH: stat -L -c FORMAT PATH into TL_VAL.
tl_stat() {
	tl_abs "$2" || return
	if [ ! -e "$2" ]; then
		tl_q "$2"
		tl_note "test -e $TL_QS"
		return 0
	fi
	tl_need stat || return
	tl_x "$TL_B" -L -c "$1" "$2"
	TL_X=$TL_RC
	if [ "$TL_RC" != 0 ]; then
		tl_errline
		tl_fail "stat failed: $TL_L"
		return
	fi
	tl_line "$TL_O"
	TL_VAL=$TL_L
	TL_OK=1
}

tl_k_file_mode() { tl_stat %a "$1"; }
tl_k_file_owner() { tl_stat %U:%G "$1"; }

tl_k_file_content() {
	tl_abs "$1" || return
	tl_q "$1"
	if [ ! -e "$1" ]; then
		tl_note "test -e $TL_QS"
		return 0
	fi
	if [ ! -f "$1" ]; then
		tl_ftype "$1"
		tl_fail "$1 is not a regular file (it is a $TL_FT)"
		return
	fi
	if [ -z "$2" ]; then
		tl_need head || return
		tl_x "$TL_B" -c "$((TL_VCAP + 1))" "$1"
		TL_X=$TL_RC
		TL_VALF=$TL_O
		[ "$TL_RC" = 0 ] && TL_OK=1
		return 0
	fi
	tl_need grep || return
	tl_x "$TL_B" -E -e "$2" -- "$1"
	TL_X=$TL_RC
	TL_VALF=$TL_O
	case $TL_RC in
	0) TL_OK=1 ;;
	1) ;;
	*) tl_errline && tl_fail "grep failed: $TL_L" ;;
	esac
}

tl_k_file_checksum() {
	tl_abs "$1" || return
	if [ ! -e "$1" ]; then
		tl_q "$1"
		tl_note "test -e $TL_QS"
		return 0
	fi
	tl_need sha256sum || return
	tl_x "$TL_B" "$1"
	TL_X=$TL_RC
	if [ "$TL_RC" != 0 ]; then
		tl_errline
		tl_fail "sha256sum failed: $TL_L"
		return
	fi
	tl_line "$TL_O"
	TL_VAL=${TL_L%% *}
	TL_OK=1
}

tl_k_file_fresh() {
	tl_abs "$1" || return
	case $2 in '' | *[!0-9]*) tl_fail "max_age_hours \"$2\" is not a number"; return ;; esac
	TL_MAXH=$2
	set +f
	set -- $1
	set -f
	TL_FRESH=
	TL_NF=0
	while [ $# -gt 0 ]; do
		if [ -e "$1" ]; then
			TL_NF=$((TL_NF + 1))
			TL_FRESH="$TL_FRESH$1
"
		fi
		shift
	done
	if [ "$TL_NF" = 0 ]; then
		tl_note "no file matches the pattern"
		return 0
	fi
	tl_need stat || return
	TL_OLDIFS=${IFS-unset}
	IFS='
'
	set -- $TL_FRESH
	if [ "$TL_OLDIFS" = unset ]; then unset IFS; else IFS=$TL_OLDIFS; fi
	tl_x "$TL_B" -L -c '%Y %n' "$@"
	TL_X=$TL_RC
	TL_NEWEST=0
	TL_NEWF=
	while read -r TL_MT TL_MF; do
		case $TL_MT in '' | *[!0-9]*) continue ;; esac
		if [ "$TL_MT" -gt "$TL_NEWEST" ]; then
			TL_NEWEST=$TL_MT
			TL_NEWF=$TL_MF
		fi
	done <"$TL_O"
	if [ -z "$TL_NEWF" ]; then
		tl_errline
		tl_fail "stat failed: $TL_L"
		return
	fi
	tl_epoch || { tl_fail "cannot read the clock (/proc/stat, /proc/uptime)"; return; }
	TL_VAL=$((TL_EPOCH - TL_NEWEST))
	[ "$TL_VAL" -le $((TL_MAXH * 3600)) ] && TL_OK=1
	printf 'newest: %s\n' "$TL_NEWF" >>"$TL_O"
}

tl_k_acl_entry() {
	tl_abs "$1" || return
	tl_need getfacl "acl.entry needs it (Debian package acl)" || return
	tl_x "$TL_B" -p -- "$1"
	TL_X=$TL_RC
	if [ "$TL_RC" != 0 ]; then
		tl_errline
		case $TL_L in
		*"No such file"*) TL_VAL= && return 0 ;;
		esac
		tl_fail "getfacl failed: $TL_L"
		return
	fi
	TL_VALF=$TL_O
	tl_need grep || return
	tl_xo "$TL_T/$TL_I.g" "$TL_B" -E -e "$2" "$TL_VALF"
	[ "$TL_RC" = 0 ] && TL_OK=1
	[ "$TL_RC" -gt 1 ] && tl_errline && tl_fail "grep failed: $TL_L"
	TL_OUTF=$TL_T/$TL_I.g
	return 0
}

# ---- kinds: processes, ports, commands -----------------------------------

tl_k_process_running() {
	tl_pids "$1"
	tl_note "looking for a process named $1 in /proc/*/comm"
	TL_VAL=$TL_PIDS
	[ -n "$TL_PIDS" ] && TL_OK=1
	return 0
}

# tl_hexip HEX: an address of /proc/net/tcp in TL_IP (IPv4 dotted; IPv6 as
# the kernel prints it).
tl_hexip() {
	case $1 in
	????????)
		TL_H1=${1%??????}
		TL_HR=${1#??}
		TL_H2=${TL_HR%????}
		TL_HR=${TL_HR#??}
		TL_H3=${TL_HR%??}
		TL_H4=${TL_HR#??}
		TL_IP=$((0x$TL_H4)).$((0x$TL_H3)).$((0x$TL_H2)).$((0x$TL_H1))
		;;
	*) TL_IP="[$1]" ;;
	esac
}

tl_k_port_listening() {
	case $1 in '' | *[!0-9]*) tl_fail "port \"$1\" is not a number"; return ;; esac
	TL_PROTO2=${2:-tcp}
	TL_VAL=
	if tl_bin ss; then
		if [ "$TL_PROTO2" = udp ]; then TL_SF=-Hlnu; else TL_SF=-Hlnt; fi
		tl_x "$TL_B" "$TL_SF"
		TL_X=$TL_RC
		if [ "$TL_RC" != 0 ]; then
			tl_errline
			tl_fail "ss failed: $TL_L"
			return
		fi
		while read -r TL_S1 TL_S2 TL_S3 TL_S4 TL_S5 TL_S6; do
			case $TL_S4 in
			*:"$1") TL_VAL="$TL_VAL$TL_PROTO2 $TL_S4 $TL_S1
" ;;
			esac
		done <"$TL_O"
	else
		# no ss (busybox images): the kernel's own tables
		TL_PHEX=$(printf '%04X' "$1")
		for TL_PF in /proc/net/"$TL_PROTO2" /proc/net/"$TL_PROTO2"6; do
			[ -r "$TL_PF" ] || continue
			tl_note "reading $TL_PF"
			while read -r TL_S1 TL_S2 TL_S3 TL_S4 TL_REST; do
				case $TL_S2 in *:"$TL_PHEX") ;; *) continue ;; esac
				if [ "$TL_PROTO2" = tcp ]; then
					[ "$TL_S4" = 0A ] || continue
					TL_STATE=LISTEN
				else
					[ "$TL_S4" = 07 ] || continue
					TL_STATE=UNCONN
				fi
				tl_hexip "${TL_S2%:*}"
				TL_VAL="$TL_VAL$TL_PROTO2 $TL_IP:$1 $TL_STATE
"
			done <"$TL_PF"
		done
		[ -n "$TL_CMD" ] || tl_fail "no ss and no /proc/net/$TL_PROTO2: cannot list sockets" || return
	fi
	TL_VAL=${TL_VAL%
}
	[ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_command_run() {
	tl_left
	set -- "$1" "$2"
	if [ -n "$2" ]; then
		tl_need su "command.run with a user needs su" || return
		set -- "$TL_B" -s /bin/sh "$2" -c "$1"
	else
		set -- /bin/sh -c "$1"
	fi
	# timeout also kills what the command started (coreutils signals the
	# whole group); the watchdog is the backstop.
	if tl_bin timeout; then
		set -- "$TL_B" -s KILL "$TL_LEFT" "$@"
	fi
	tl_x "$@"
	TL_X=$TL_RC
	TL_VALF=$TL_O
	TL_OUTF=$TL_E
	[ "$TL_RC" = 0 ] && TL_OK=1
	if [ "$TL_RC" = 124 ] || [ "$TL_RC" = 137 ]; then
		# killed by timeout(1) at the deadline, not by itself
		tl_now
		[ "$TL_DL" -gt 0 ] && [ "$TL_NOW" -ge $((TL_DL - 1500)) ] && TL_TIMEDOUT=1
	fi
	return 0
}

# tl_http URL EXPECTED_STATUS HOST_HEADER INSECURE: one GET; the body is
# the value (capped), the status goes to TL_H, the client's messages are
# the evidence output.
tl_http() {
	tl_left
	TL_BODY=$TL_T/$TL_I.b
	: >"$TL_BODY"
	TL_VALF=$TL_BODY
	TL_OUTF=$TL_E
	TL_URL=$1 TL_WANT=$2 TL_HOSTH=$3 TL_INSEC=$4
	TL_HS=
	if tl_bin curl; then
		set -- "$TL_B" -sS -o "$TL_BODY" -w '%{http_code}' --max-time "$TL_LEFT" \
			--max-filesize 16777216 --proto =http,https --noproxy '*'
		[ "$TL_INSEC" = 1 ] && set -- "$@" -k
		[ -n "$TL_HOSTH" ] && set -- "$@" -H "Host: $TL_HOSTH"
		tl_x "$@" -- "$TL_URL"
		tl_line "$TL_O"
		TL_HS=$TL_L
	elif tl_bin wget; then
		# no -T: the static busybox wget of Debian 12 crashes with it
		# (the watchdog bounds the time); -S prints the status line
		set -- "$TL_B" -S -O "$TL_BODY"
		[ "$TL_INSEC" = 1 ] && set -- "$@" --no-check-certificate
		[ -n "$TL_HOSTH" ] && set -- "$@" --header "Host: $TL_HOSTH"
		tl_x "$@" "$TL_URL"
		while read -r TL_W1 TL_W2 TL_W3; do
			case $TL_W1 in HTTP/*) TL_HS=$TL_W2 ;; esac
		done <"$TL_E"
	elif tl_bin python3; then
		TL_PY='import sys, ssl, urllib.request, urllib.error
u, out, t, host, k = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5] == "1"
ctx = ssl._create_unverified_context() if k else None
r = urllib.request.Request(u, headers={"Host": host} if host else {})
try:
    resp = urllib.request.urlopen(r, timeout=t, context=ctx)
    code, body = resp.status, resp.read(16777216)
except urllib.error.HTTPError as e:
    code, body = e.code, e.read(16777216)
open(out, "wb").write(body)
print(code)'
		tl_x "$TL_B" -I -S -c "$TL_PY" "$TL_URL" "$TL_BODY" "$TL_LEFT" "$TL_HOSTH" "${TL_INSEC:-0}"
		tl_line "$TL_O"
		TL_HS=$TL_L
	else
		tl_fail "no HTTP client on this machine (curl, wget or python3)"
		return
	fi
	TL_X=$TL_RC
	case $TL_HS in
	[1-9][0-9][0-9]) TL_H=$TL_HS ;;
	*) TL_H=-1 ;;
	esac
	if [ "$TL_H" -gt 0 ]; then
		if [ -z "$TL_WANT" ] || [ "$TL_WANT" = "$TL_H" ]; then TL_OK=1; fi
	fi
	return 0
}

tl_k_http_local() { tl_http "$1" "$2" "" 1; }

# ---- kinds: network configuration -----------------------------------------

# tl_ipaddrs [IFACE]: "iface address/prefix" lines of ip addr in TL_ADDRS.
tl_ipaddrs() {
	tl_need ip || return
	if [ -n "$1" ]; then
		tl_x "$TL_B" addr show dev "$1"
	else
		tl_x "$TL_B" addr show
	fi
	TL_X=$TL_RC
	TL_ADDRS=
	TL_IFC=
	while read -r TL_A1 TL_A2 TL_A3 TL_REST; do
		case $TL_A1 in
		[0-9]*:)
			TL_IFC=${TL_A2%:}
			TL_IFC=${TL_IFC%%@*}
			;;
		inet | inet6) TL_ADDRS="$TL_ADDRS$TL_IFC $TL_A2
" ;;
		esac
	done <"$TL_O"
	TL_ADDRS=${TL_ADDRS%
}
	return 0
}

tl_k_net_address() {
	tl_ipaddrs "$2" || return
	if [ "$TL_RC" != 0 ]; then
		tl_errline
		case $TL_L in
		*"does not exist"* | *"can't find"* | *"not found"*) TL_VAL= && return 0 ;;
		esac
		tl_fail "ip addr failed: $TL_L"
		return
	fi
	TL_VAL=$TL_ADDRS
	TL_IL=$TL_ADDRS
	while [ -n "$TL_IL" ]; do
		TL_IW=${TL_IL%%
*}
		TL_AD=${TL_IW#* }
		case $1 in
		*/*) [ "$TL_AD" = "$1" ] && TL_OK=1 ;;
		*) [ "${TL_AD%/*}" = "$1" ] && TL_OK=1 ;;
		esac
		case $TL_IL in *'
'*) TL_IL=${TL_IL#*
} ;; *) TL_IL= ;; esac
	done
	return 0
}

tl_k_net_route() {
	tl_need ip || return
	case $1 in
	*:*) tl_x "$TL_B" -6 route show ;;
	*) tl_x "$TL_B" route show ;;
	esac
	TL_X=$TL_RC
	if [ "$TL_RC" != 0 ]; then
		tl_errline
		tl_fail "ip route failed: $TL_L"
		return
	fi
	TL_VAL=
	while IFS= read -r TL_L; do
		set -- "$1" "$2"
		TL_RD=${TL_L%% *}
		TL_WANT=$1
		[ "$TL_WANT" = 0.0.0.0/0 ] && TL_WANT=default
		case $TL_RD in
		"$TL_WANT" | "$TL_WANT"/32) ;;
		*) [ "$TL_RD/32" = "$TL_WANT" ] || continue ;;
		esac
		if [ -n "$2" ]; then
			case "$TL_L " in *" via $2 "*) ;; *) continue ;; esac
		fi
		TL_VAL="$TL_VAL$TL_L
"
	done <"$TL_O"
	TL_VAL=${TL_VAL%
}
	[ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_net_interface() {
	tl_need ip || return
	tl_x "$TL_B" -o link show dev "$1"
	TL_X=$TL_RC
	tl_line "$TL_O"
	TL_VAL=$TL_L
	[ "$TL_RC" = 0 ] || return 0
	case $TL_L in
	*"<UP,"* | *",UP,"* | *",UP>"* | *"<UP>"*) TL_OK=1 ;;
	esac
	return 0
}

# tl_dns NAME TYPE SERVER PORT: answers one per line in TL_VAL.
tl_dns() {
	TL_DT=${2:-A}
	tl_left
	TL_VAL=
	if tl_bin dig; then
		set -- "$1" "$TL_DT" "$3" "$4"
		TL_DA="+short +time=$TL_LEFT +tries=1"
		[ -n "$4" ] && TL_DA="$TL_DA -p $4"
		if [ -n "$3" ]; then TL_DS=@$3; else TL_DS=+search; fi
		if [ "$TL_DT" = PTR ]; then
			tl_x "$TL_B" $TL_DA "$TL_DS" -x "$1"
		else
			tl_x "$TL_B" $TL_DA "$TL_DS" "$1" "$TL_DT"
		fi
		TL_X=$TL_RC
		while IFS= read -r TL_L; do
			case $TL_L in ';'* | '') continue ;; esac
			TL_VAL="$TL_VAL$TL_L
"
		done <"$TL_O"
		if [ "$TL_RC" = 9 ] || [ "$TL_RC" = 10 ]; then
			TL_OUTF=$TL_O
		fi
	elif [ -z "$4" ] && tl_bin nslookup; then
		if [ -n "$3" ]; then
			tl_x "$TL_B" -type="$TL_DT" "$1" "$3"
		else
			tl_x "$TL_B" -type="$TL_DT" "$1"
		fi
		TL_X=$TL_RC
		# skip the server block (up to the first blank line), then
		# keep "Address:" values and "... = value" answers
		TL_INANS=0
		while IFS= read -r TL_L; do
			if [ "$TL_INANS" = 0 ]; then
				[ -z "$TL_L" ] && TL_INANS=1
				continue
			fi
			case $TL_L in
			Address:* | "Address "*:*) TL_L=${TL_L#*: } && TL_L=${TL_L#Address: } ;;
			*" = "*) TL_L=${TL_L#* = } ;;
			*) continue ;;
			esac
			set -- $TL_L
			[ -n "$1" ] && TL_VAL="$TL_VAL$*
"
		done <"$TL_O"
	elif [ -z "$3" ] && [ -z "$4" ] && tl_bin getent && { [ "$TL_DT" = A ] || [ "$TL_DT" = AAAA ]; }; then
		if [ "$TL_DT" = A ]; then TL_GE=ahostsv4; else TL_GE=ahostsv6; fi
		tl_x "$TL_B" "$TL_GE" "$1"
		TL_X=$TL_RC
		while read -r TL_A1 TL_A2 TL_REST; do
			[ "$TL_A2" = STREAM ] && TL_VAL="$TL_VAL$TL_A1
"
		done <"$TL_O"
	else
		tl_fail "no DNS client on this machine for this query (dig, nslookup${3:+ with a server}${4:+ on another port})"
		return
	fi
	TL_VAL=${TL_VAL%
}
	[ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_dns_resolve() { tl_dns "$1" "$2" "$3" ""; }

tl_k_dhcp_scope() {
	tl_need dhcpd "dhcp.scope checks isc-dhcp-server (package isc-dhcp-server)" || return
	TL_CONF=/etc/dhcp/dhcpd.conf
	tl_x "$TL_B" -t -4 -cf "$TL_CONF"
	TL_X=$TL_RC
	TL_OUTF=$TL_E
	TL_VALID=$TL_RC
	tl_need awk || return
	TL_SUB=$1
	export TL_SUB
	tl_xo "$TL_T/$TL_I.g" "$TL_B" '
		!on && $1 == "subnet" && $2 == ENVIRON["TL_SUB"] { on = 1 }
		on { print; n += gsub(/\{/, "{"); n -= gsub(/\}/, "}"); if (n <= 0 && /\}/) exit }
	' "$TL_CONF"
	TL_VALF=$TL_T/$TL_I.g
	if [ -s "$TL_VALF" ] && [ "$TL_VALID" = 0 ]; then TL_OK=1; fi
	return 0
}

tl_k_dhcp_lease() {
	tl_need awk || return
	TL_MAC=$1 TL_ADDR=$2
	export TL_MAC TL_ADDR
	if [ -r /var/lib/dhcp/dhcpd.leases ]; then
		tl_x "$TL_B" '
			$1 == "lease" { ip = $2; mac = ""; st = "" }
			$1 == "hardware" { mac = $3; sub(/;$/, "", mac) }
			$1 == "binding" && $2 == "state" { st = $3; sub(/;$/, "", st) }
			$1 == "}" && ip != "" {
				if (st == "active" && (ENVIRON["TL_MAC"] == "" || tolower(mac) == tolower(ENVIRON["TL_MAC"])) &&
				    (ENVIRON["TL_ADDR"] == "" || ip == ENVIRON["TL_ADDR"]))
					seen[ip] = ip " " mac " " st
				ip = ""
			}
			END { for (k in seen) print seen[k] }
		' /var/lib/dhcp/dhcpd.leases
	elif [ -r /var/lib/misc/dnsmasq.leases ]; then
		tl_x "$TL_B" '
			(ENVIRON["TL_MAC"] == "" || tolower($2) == tolower(ENVIRON["TL_MAC"])) &&
			(ENVIRON["TL_ADDR"] == "" || $3 == ENVIRON["TL_ADDR"]) { print $3 " " $2 " active" }
		' /var/lib/misc/dnsmasq.leases
	else
		tl_fail "no DHCP lease file (/var/lib/dhcp/dhcpd.leases or /var/lib/misc/dnsmasq.leases): is a DHCP server installed here?"
		return
	fi
	TL_X=$TL_RC
	TL_VALF=$TL_O
	[ -s "$TL_O" ] && TL_OK=1
	return 0
}

tl_k_firewall_rule() {
	TL_RS=$TL_T/$TL_I.r
	if tl_bin nft && tl_xo "$TL_RS" "$TL_B" list ruleset && [ -s "$TL_RS" ]; then
		:
	elif tl_bin iptables-save && tl_xo "$TL_RS" "$TL_B"; then
		:
	elif ! tl_bin nft && ! tl_bin iptables-save; then
		tl_fail "neither nft nor iptables-save on this machine"
		return
	else
		tl_errline
		tl_fail "cannot read the ruleset: $TL_L"
		return
	fi
	tl_need grep || return
	tl_x "$TL_B" -E -e "$1" "$TL_RS"
	TL_X=$TL_RC
	TL_VALF=$TL_O
	TL_OUTF=$TL_RS
	case $TL_RC in
	0) TL_OK=1 ;;
	1) ;;
	*) tl_errline && tl_fail "grep failed: $TL_L" ;;
	esac
	return 0
}

tl_k_sysctl_value() {
	case $1 in
	'' | *[!A-Za-z0-9_.-]* | *..*) tl_fail "invalid sysctl key \"$1\""; return ;;
	esac
	TL_SP=
	TL_R=$1
	while :; do
		case $TL_R in
		*.*) TL_SP="$TL_SP${TL_R%%.*}/" && TL_R=${TL_R#*.} ;;
		*) TL_SP="$TL_SP$TL_R" && break ;;
		esac
	done
	tl_note "read /proc/sys/$TL_SP"
	[ -r "/proc/sys/$TL_SP" ] && [ -f "/proc/sys/$TL_SP" ] || return 0
	IFS= read -r TL_VAL <"/proc/sys/$TL_SP" || [ -n "$TL_VAL" ] || return 0
	TL_OK=1
}

tl_k_sshd_setting() {
	tl_need sshd "sshd.setting reads OpenSSH's effective configuration (this image may run another SSH server, e.g. dropbear)" || return
	tl_x "$TL_B" -T
	TL_X=$TL_RC
	if [ "$TL_RC" != 0 ]; then
		tl_errline
		tl_fail "sshd -T failed: $TL_L"
		return
	fi
	while read -r TL_K2 TL_V2; do
		if [ "$TL_K2" = "$1" ]; then
			TL_VAL=$TL_V2
			TL_OK=1
			break
		fi
	done <"$TL_O"
	return 0
}

# ---- kinds: scheduling, storage, logs -------------------------------------

tl_k_cron_entry() {
	TL_CF=
	set +f
	if [ -n "$2" ]; then
		for TL_F in "/var/spool/cron/crontabs/$2" "/var/spool/cron/$2"; do
			[ -f "$TL_F" ] && TL_CF="$TL_CF$TL_F
"
		done
	else
		for TL_F in /etc/crontab /etc/cron.d/* /var/spool/cron/crontabs/*; do
			[ -f "$TL_F" ] && TL_CF="$TL_CF$TL_F
"
		done
	fi
	set -f
	if [ -z "$TL_CF" ]; then
		tl_note "no crontab file${2:+ for $2}"
		return 0
	fi
	tl_need grep || return
	TL_OLDIFS=${IFS-unset}
	IFS='
'
	set -- "$1" $TL_CF
	if [ "$TL_OLDIFS" = unset ]; then unset IFS; else IFS=$TL_OLDIFS; fi
	TL_RE=$1
	shift
	tl_x "$TL_B" -h -E -e "$TL_RE" -- "$@"
	TL_X=$TL_RC
	if [ "$TL_RC" -gt 1 ]; then
		tl_errline
		tl_fail "grep failed: $TL_L"
		return
	fi
	TL_VAL=
	# a commented-out line does not count
	while IFS= read -r TL_L; do
		TL_L2=$TL_L
		while :; do
			case $TL_L2 in
			' '* | '	'*) TL_L2=${TL_L2#?} ;;
			*) break ;;
			esac
		done
		case $TL_L2 in '#'*) continue ;; esac
		TL_VAL="$TL_VAL$TL_L
"
	done <"$TL_O"
	TL_VAL=${TL_VAL%
}
	[ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_systemd_timer() {
	tl_systemd || { tl_fail "systemd is not running on this machine: timers are not supported on this image"; return; }
	tl_need systemctl || return
	TL_TN=$1
	case $TL_TN in *.timer) ;; *) TL_TN=$TL_TN.timer ;; esac
	tl_xo "$TL_T/$TL_I.a" "$TL_B" is-active -- "$TL_TN"
	tl_line "$TL_T/$TL_I.a"
	TL_ACT=$TL_L
	tl_x "$TL_B" list-timers --all --no-legend --no-pager -- "$TL_TN"
	TL_X=$TL_RC
	tl_line "$TL_O"
	TL_VAL=$TL_L
	[ "$TL_ACT" = active ] && TL_OK=1
	return 0
}

tl_k_mount_present() {
	TL_MTGT=$1
	while :; do case $TL_MTGT in ?*/) TL_MTGT=${TL_MTGT%/} ;; *) break ;; esac; done
	tl_note "read /proc/mounts"
	TL_VAL=
	while read -r TL_MS TL_MT2 TL_MFS TL_MO TL_REST; do
		if [ "$TL_MT2" = "$TL_MTGT" ]; then
			TL_VAL="$TL_MS $TL_MFS $TL_MO"
			TL_MLFS=$TL_MFS
		fi
	done </proc/mounts
	[ -n "$TL_VAL" ] || return 0
	[ -z "$2" ] || [ "$2" = "$TL_MLFS" ] || return 0
	TL_OK=1
}

tl_k_lvm_volume() {
	tl_need lvs "lvm.volume needs LVM (package lvm2)" || return
	tl_x "$TL_B" --noheadings --units b --nosuffix -o lv_size "$1/$2"
	TL_X=$TL_RC
	tl_line "$TL_O"
	set -- $TL_L
	TL_VAL=$1
	TL_OUTF=$TL_E
	[ "$TL_RC" = 0 ] && [ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_log_line() {
	TL_LG=$TL_T/$TL_I.l
	if [ -n "$2" ]; then
		tl_abs "$2" || return
		if [ ! -f "$2" ]; then
			tl_q "$2"
			tl_note "test -f $TL_QS"
			return 0
		fi
		tl_need grep || return
		tl_xo "$TL_LG" "$TL_B" -E -e "$1" -- "$2"
	elif [ -n "$3" ]; then
		tl_need journalctl "log.line with a unit reads the systemd journal" || return
		tl_xo "$TL_T/$TL_I.j" "$TL_B" --no-pager -q -o short-iso -n 20000 -u "$3"
		tl_need grep || return
		tl_xo "$TL_LG" "$TL_B" -E -e "$1" "$TL_T/$TL_I.j"
	else
		tl_fail "log.line needs a file or a unit"
		return
	fi
	TL_X=$TL_RC
	case $TL_RC in
	0) TL_OK=1 ;;
	1) return 0 ;;
	153) TL_OK=1 ;; # matches beyond the file size ceiling: there are some
	*)
		tl_errline
		tl_fail "grep failed: $TL_L"
		return
		;;
	esac
	tl_need tail || return
	tl_x "$TL_B" -n 50 "$TL_LG"
	TL_VALF=$TL_O
	return 0
}

# ---- kinds: directory, VPN, supervision, virtualisation -------------------

# Samba AD directory kinds (samba.user, samba.group, samba.ou, samba.gpo,
# samba.object) read the directory ONCE per batch: every samba-tool call
# costs 10 to 20 s on an emulated guest (Python and Samba loading their
# modules and the schema), and a scenario asks a few dozen questions. The
# first such probe of the batch runs one ldbsearch over sam.ldb (under its
# own deadline) into $TL_T/sam.ldif; one awk unfolds and decodes that LDIF
# into $TL_T/sam while it answers, and later probes ask one awk over that
# file. A read that failed or timed out is not kept: the next probe tries
# again. Every probe's evidence names the ldbsearch command. Only the
# attributes listed in TL_SAMATTRS are read, so no secret (unicodePwd,
# supplementalCredentials, password histories, trust keys) ever reaches the
# output. No environment variable or file on the guest can point the agent
# at another database: the path is fixed here.
TL_SAMDB=/var/lib/samba/private/sam.ldb
TL_SAMFILTER='(|(objectClass=user)(objectClass=group)(objectClass=organizationalUnit)(objectClass=container)(objectClass=domain)(objectClass=builtinDomain))'
TL_SAMATTRS='objectClass cn name ou sAMAccountName userPrincipalName
displayName givenName sn initials mail department title description company
physicalDeliveryOfficeName telephoneNumber homeDirectory homeDrive
scriptPath profilePath userAccountControl accountExpires primaryGroupID
objectSid groupType sAMAccountType member memberOf managedBy gpLink
gPOptions gPCFileSysPath versionNumber flags dNSHostName operatingSystem
minPwdLength minPwdAge maxPwdAge pwdHistoryLength pwdProperties
lockoutThreshold lockoutDuration lockOutObservationWindow
msDS-Behavior-Version whenCreated whenChanged'
TL_SAM=    # '': not read; raw: sam.ldif read; 1: sam holds it, decoded
TL_SAMCMD= # the ldbsearch command, for every probe's evidence
TL_SAMI=   # the probe that read it

# The directory program. Input: LDIF (ldbsearch's, or $TL_T/sam, which is
# LDIF again: one line per value, decoded). Lines starting with one space
# continue the previous one; "attr:: BASE64" values are decoded, unless
# they hold control characters (then they stay encoded: a value cannot
# forge a line); "#" lines are comments. With TL_SQ_SAVE set, the decoded
# LDIF is written there. Then it answers TL_SQ_MODE about TL_SQ_NAME: the
# value on stdout, a note on stderr, exit 10 (found, ok), 11 (found, not
# ok) or 12 (not found). sAMAccountName, display names and DNs compare
# case-insensitively, as AD does; DNs also ignore spaces around , and =.
TL_SAMAWK='
function norm(s,   o, i, h) {
	# \HH escapes are the bytes they stand for
	o = ""
	while ((i = index(s, "\\")) > 0) {
		o = o substr(s, 1, i - 1); h = substr(s, i + 1, 2)
		if (length(h) == 2 && (substr(h, 1, 1) in X) && (substr(h, 2, 1) in X)) {
			o = o sprintf("%c", X[substr(h, 1, 1)] * 16 + X[substr(h, 2, 1)])
			s = substr(s, i + 3)
		} else {
			o = o substr(s, i, 2); s = substr(s, i + 2)
		}
	}
	s = tolower(o s)
	gsub(/^ +| +$/, "", s)
	gsub(/ *, */, ",", s)
	gsub(/ *= */, "=", s)
	return s
}
function b64(s,   i, c, o, acc, nb, v) {
	o = ""; acc = 0; nb = 0; bad = 0
	for (i = 1; i <= length(s); i++) {
		c = substr(s, i, 1)
		if (!(c in B)) continue
		acc = acc * 64 + B[c]; nb += 6
		if (nb >= 8) {
			nb -= 8
			v = int(acc / P[nb]); acc -= v * P[nb]
			if (v < 32 || v == 127) bad = 1
			o = o sprintf("%c", v)
		}
	}
	return o
}
function endrec() {
	if (inr && save != "") print "" > save
	inr = 0
}
function keep(line) {
	rec[nr] = rec[nr] "\n" line
	if (save != "") print line > save
}
function emit(l,   p, a, v, d, la) {
	if (substr(l, 1, 1) == "#") return
	p = index(l, ":")
	if (p < 2) return
	a = substr(l, 1, p - 1); v = substr(l, p + 1); la = tolower(a)
	if (substr(v, 1, 1) == ":") {
		v = substr(v, 2); sub(/^ +/, "", v)
		d = b64(v)
		if (bad) a = a ":"
		else v = d
	} else if (substr(v, 1, 1) == "<") {
		return
	} else sub(/^ /, "", v)
	if (la == "dn") {
		endrec(); nr++; inr = 1
		rec[nr] = a ": " v; dn[nr] = v; byd[norm(v)] = nr
		if (save != "") print a ": " v > save
		return
	}
	if (!inr || la ~ SECRET) return
	keep(a ": " v)
	if (la == "samaccountname") sam[nr] = v
	else if (la == "objectclass") cls[nr] = cls[nr] " " tolower(v) " "
	else if (la == "displayname") dname[nr] = v
	else if (la == "member") mem[nr] = mem[nr] "\n" v
	else if (la == "gplink") gpl[nr] = gpl[nr] v
	else if (la == "objectsid") sid[nr] = v
	else if (la == "primarygroupid") pg[nr] = v
	else if (la == "cn") cn[nr] = v
}
function hascls(r, c) { return index(cls[r], " " c " ") > 0 }
function bysam(c,   r) {
	for (r = 1; r <= nr; r++)
		if (tolower(sam[r]) == lw && (c == "" || hascls(r, c)) && !(c == "user" && hascls(r, "computer")))
			return r
	return 0
}
function note(s) { print s > "/dev/stderr" }
function found(r) {
	print rec[r]
	note(nr " objects read; found " dn[r])
}
function missing(what) {
	note(nr " objects read; no " what " \"" want "\"")
	exit 12
}
function member(nm,   k) {
	k = tolower(nm)
	if (k in seen) return
	seen[k] = 1
	print nm
}
BEGIN {
	mode = ENVIRON["TL_SQ_MODE"]; want = ENVIRON["TL_SQ_NAME"]; lw = tolower(want)
	save = ENVIRON["TL_SQ_SAVE"]
	# never asked for; dropped anyway should a tool print them
	SECRET = "^(unicodepwd|dbcspwd|ntpwdhistory|lmpwdhistory|supplementalcredentials|currentvalue|priorvalue|initialauthincoming|initialauthoutgoing|trustauthincoming|trustauthoutgoing|cleartextpassword|userpassword|msds-executescriptpassword|peklist|msds-managedpassword)$"
	s = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for (i = 1; i <= 64; i++) B[substr(s, i, 1)] = i - 1
	P[0] = 1
	for (i = 1; i <= 16; i++) P[i] = P[i - 1] * 2
	for (i = 0; i < 16; i++) {
		X[substr("0123456789abcdef", i + 1, 1)] = i
		X[substr("0123456789ABCDEF", i + 1, 1)] = i
	}
	nr = 0; inr = 0; have = 0
}
{ sub(/\r$/, "") }
substr($0, 1, 1) == " " { if (have) cur = cur substr($0, 2); next }
{ if (have) emit(cur); have = 0 }
$0 == "" { endrec(); next }
{ cur = $0; have = 1 }
END {
	if (have) emit(cur)
	endrec()
	if (save != "") close(save)
	if (lw == "") missing("name")
	if (mode == "user" || mode == "group" || mode == "object") {
		if (mode == "object" && index(want, "=")) {
			f = byd[norm(want)] + 0
		} else
			f = bysam(mode == "object" ? "" : mode)
		if (!f) missing(mode == "object" ? "object with this sAMAccountName or DN" : mode " with sAMAccountName")
		if (mode != "group") { found(f); exit 10 }
		note(nr " objects read; found " dn[f])
		n = split(substr(mem[f], 2), M, "\n")
		for (k = 1; k <= n; k++) {
			r = byd[norm(M[k])] + 0
			if (r && sam[r] != "") member(sam[r])
			else if (r && cn[r] != "") member(cn[r])
			else { nm = M[k]; sub(/^[^=]*=/, "", nm); sub(/,.*/, "", nm); member(nm) }
		}
		rid = sid[f]; sub(/.*-/, "", rid)
		if (rid != "")
			for (r = 1; r <= nr; r++)
				if (pg[r] == rid && sid[r] != "") member(sam[r] != "" ? sam[r] : cn[r])
		n = split(ENVIRON["TL_SQ_MEMBERS"], M, "\n")
		for (k = 1; k <= n; k++)
			if (M[k] != "" && !(tolower(M[k]) in seen)) {
				note("not a member: " M[k])
				exit 11
			}
		exit 10
	}
	if (mode == "ou") {
		w = index(want, "=") ? want : "OU=" want
		w = norm(w); f = 0
		for (r = 1; r <= nr; r++) {
			if (!hascls(r, "organizationalunit")) continue
			d = norm(dn[r])
			if (d == w || substr(d, 1, length(w) + 1) == w ",") { print dn[r]; f++ }
		}
		if (!f) missing("organizational unit")
		note(nr " objects read; " f " matching")
		exit 10
	}
	if (mode == "gpo") {
		f = 0
		for (r = 1; r <= nr; r++)
			if (hascls(r, "grouppolicycontainer") && tolower(dname[r]) == lw) { f = r; break }
		if (!f) missing("GPO with display name")
		found(f)
		g = norm(dn[f])
		for (r = 1; r <= nr; r++) {
			s = gpl[r]
			while ((i = index(s, "[")) > 0) {
				s = substr(s, i + 1)
				j = index(s, "]")
				e = j ? substr(s, 1, j - 1) : s
				sub(/^[Ll][Dd][Aa][Pp]:\/\//, "", e)
				sub(/;[^;]*$/, "", e)
				if (norm(e) == g) { print "linked: " dn[r]; break }
			}
		}
		exit 10
	}
	note("unknown directory question " mode)
	exit 2
}'

# tl_samba_ask MODE NAME [MEMBERS]: asks this batch's read of the directory
# (reading it first if no probe did); TL_OK, TL_VALF and the evidence from
# the answer.
tl_samba_ask() {
	TL_SQ_SAVE=
	case $TL_SAM in
	1)
		tl_note "$TL_SAMCMD (read once for this batch, by probe $TL_SAMI)"
		TL_SQ_IN=$TL_T/sam
		;;
	raw)
		tl_note "$TL_SAMCMD (read once for this batch, by probe $TL_SAMI)"
		TL_SQ_IN=$TL_T/sam.ldif
		TL_SQ_SAVE=$TL_T/sam
		;;
	*)
		tl_need ldbsearch "Samba AD probes read the directory with ldbsearch (package ldb-tools)" || return
		# (ldbsearch would create a missing database)
		if [ ! -f "$TL_SAMDB" ]; then
			tl_note "test -f $TL_SAMDB"
			printf 'no %s: this machine is not a Samba AD domain controller (yet)\n' "$TL_SAMDB" >"$TL_O"
			return 0
		fi
		tl_xo "$TL_T/sam.ldif" "$TL_B" -H "$TL_SAMDB" "$TL_SAMFILTER" $TL_SAMATTRS
		[ "$TL_TIMEDOUT" = 1 ] && return 0
		if [ "$TL_RC" != 0 ]; then
			TL_X=$TL_RC
			TL_OUTF=$TL_E
			tl_errline
			tl_fail "ldbsearch could not read $TL_SAMDB: $TL_L"
			return
		fi
		TL_SAM=raw
		TL_SAMCMD=$TL_ARGS
		TL_SAMI=$TL_I
		TL_SQ_IN=$TL_T/sam.ldif
		TL_SQ_SAVE=$TL_T/sam
		;;
	esac
	TL_X=0
	TL_SQ_MODE=$1
	TL_SQ_NAME=$2
	TL_SQ_MEMBERS=$3
	export TL_SQ_MODE TL_SQ_NAME TL_SQ_MEMBERS TL_SQ_SAVE
	# the program is named, not quoted, in the evidence
	TL_SAVE_CMD=$TL_CMD
	tl_xo "$TL_T/$TL_I.s" "$TL_AWK" "$TL_SAMAWK" "$TL_SQ_IN"
	TL_CMD=$TL_SAVE_CMD
	tl_q "$2"
	tl_note "awk: samba.$1 $TL_QS in that LDIF"
	TL_VALF=$TL_T/$TL_I.s
	TL_OUTF=$TL_E
	case $TL_RC in
	10) TL_OK=1 ;;
	11 | 12) ;;
	*)
		[ "$TL_TIMEDOUT" = 1 ] && return 0
		tl_errline
		tl_fail "awk could not read the directory's LDIF: $TL_L"
		return
		;;
	esac
	[ -n "$TL_SQ_SAVE" ] && TL_SAM=1
	return 0
}

tl_k_samba_user() {
	tl_samba_ask user "$1"
}

tl_k_samba_group() {
	tl_samba_ask group "$1" "$2"
}

tl_k_samba_ou() {
	tl_samba_ask ou "$1"
}

tl_k_samba_gpo() {
	tl_samba_ask gpo "$1"
}

tl_k_samba_object() {
	tl_samba_ask object "$1"
}

# samba.dns still asks samba-tool (DNS records live in their own partitions
# as binary dnsRecord values).
tl_samba() {
	tl_need samba-tool "Samba AD probes need samba-tool (package samba)" || return
	tl_x "$TL_B" "$@"
	TL_X=$TL_RC
	return 0
}

tl_k_samba_dns() {
	TL_RT=${3:-A}
	tl_samba dns query 127.0.0.1 "$1" "$2" "$TL_RT" -P || return
	TL_OUTF=$TL_E
	[ "$TL_RC" = 0 ] || return 0
	TL_VAL=
	while IFS= read -r TL_L; do
		set -- $TL_L
		if [ "$1" = "$TL_RT:" ]; then
			shift
			TL_RV=
			while [ $# -gt 0 ]; do
				case $1 in '(flags='*) break ;; esac
				TL_RV="${TL_RV:+$TL_RV }$1"
				shift
			done
			TL_VAL="$TL_VAL$TL_RV
"
		fi
	done <"$TL_O"
	TL_VAL=${TL_VAL%
}
	[ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_samba_share() {
	tl_need testparm "samba.share needs testparm (package samba-common-bin)" || return
	tl_x "$TL_B" -s --section-name="$1"
	TL_X=$TL_RC
	TL_OUTF=$TL_E
	TL_VAL=
	while IFS= read -r TL_L; do
		case $TL_L in '' | '['*) continue ;; esac
		set -- $TL_L
		TL_VAL="$TL_VAL$*
"
	done <"$TL_O"
	TL_VAL=${TL_VAL%
}
	[ "$TL_RC" = 0 ] && [ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_wireguard_peer() {
	tl_need wg "wireguard.peer needs wg (package wireguard-tools)" || return
	TL_MAXA=${3:-180}
	case $TL_MAXA in *[!0-9]*) tl_fail "max_age_s \"$3\" is not a number"; return ;; esac
	tl_x "$TL_B" show "$1" latest-handshakes
	TL_X=$TL_RC
	if [ "$TL_RC" != 0 ]; then
		TL_OUTF=$TL_E
		return 0
	fi
	TL_HSK=0
	while read -r TL_PK TL_TS; do
		case $TL_TS in '' | *[!0-9]*) continue ;; esac
		[ -n "$2" ] && [ "$TL_PK" != "$2" ] && continue
		[ "$TL_TS" -gt "$TL_HSK" ] && TL_HSK=$TL_TS
	done <"$TL_O"
	[ "$TL_HSK" -gt 0 ] || return 0
	tl_epoch || { tl_fail "cannot read the clock (/proc/stat, /proc/uptime)"; return; }
	TL_VAL=$((TL_EPOCH - TL_HSK))
	[ "$TL_VAL" -le "$TL_MAXA" ] && TL_OK=1
	return 0
}

tl_k_openvpn_tunnel() {
	tl_pids openvpn
	TL_OVPN=$TL_PIDS
	tl_note "looking for a process named openvpn in /proc/*/comm"
	tl_ipaddrs "$1" || return
	TL_VAL=$TL_ADDRS
	[ "$TL_RC" = 0 ] || return 0
	tl_xo "$TL_T/$TL_I.k" "$TL_B" -o link show dev "$1"
	tl_line "$TL_T/$TL_I.k"
	case $TL_L in
	*"<UP,"* | *",UP,"* | *",UP>"* | *"<UP>"*) TL_UP3=1 ;;
	*) TL_UP3=0 ;;
	esac
	if [ -n "$TL_OVPN" ] && [ -n "$TL_VAL" ] && [ "$TL_UP3" = 1 ]; then
		TL_OK=1
	fi
	return 0
}

tl_k_snmp_get() {
	tl_need snmpget "snmp.get needs snmpget (package snmp)" || return
	tl_left
	tl_x "$TL_B" -v2c -c "${3:-public}" -Ov -t "$TL_LEFT" -r 0 "${2:-127.0.0.1}" "$1"
	TL_X=$TL_RC
	TL_OUTF=$TL_E
	tl_line "$TL_O"
	TL_VAL=$TL_L
	case $TL_VAL in
	'' | *"No Such Object"* | *"No Such Instance"* | *"No more variables"*) ;;
	*) [ "$TL_RC" = 0 ] && TL_OK=1 ;;
	esac
	return 0
}

tl_k_monitoring_host() {
	TL_MD=
	for TL_F in /etc/nagios4 /etc/nagios /usr/local/nagios/etc /etc/icinga2 \
		/etc/icinga /etc/naemon /etc/centreon-engine /etc/shinken; do
		[ -d "$TL_F" ] && TL_MD="$TL_MD $TL_F"
	done
	if [ -z "$TL_MD" ]; then
		tl_fail "no Nagios, Icinga, Naemon or Centreon configuration on this machine (Zabbix keeps its hosts in its database: not supported)"
		return
	fi
	tl_need grep || return
	tl_x "$TL_B" -r -h -F -w -e "$1" -- $TL_MD
	TL_X=$TL_RC
	if [ "$TL_RC" -gt 1 ]; then
		tl_errline
		tl_fail "grep failed: $TL_L"
		return
	fi
	TL_VAL=
	while IFS= read -r TL_L; do
		set -- $TL_L
		case $1 in '#'* | ';'* | '') continue ;; esac
		TL_VAL="$TL_VAL$*
"
	done <"$TL_O"
	TL_VAL=${TL_VAL%
}
	[ -n "$TL_VAL" ] && TL_OK=1
	return 0
}

tl_k_container_running() {
	if tl_bin podman || tl_bin docker; then :; else
		tl_fail "podman: not found on this machine (nor docker)"
		return
	fi
	tl_x "$TL_B" ps --all --filter "name=^$1\$" --format '{{.Names}} {{.Status}}'
	TL_X=$TL_RC
	TL_OUTF=$TL_E
	TL_VAL=
	while IFS= read -r TL_L; do
		case $TL_L in "$1 "*) TL_VAL=$TL_L ;; esac
	done <"$TL_O"
	case $TL_VAL in "$1 Up"*) TL_OK=1 ;; esac
	return 0
}

tl_k_libvirt_domain() {
	tl_need virsh "libvirt probes need virsh (package libvirt-clients)" || return
	tl_x "$TL_B" -c qemu:///system domstate "$1"
	TL_X=$TL_RC
	TL_OUTF=$TL_E
	tl_line "$TL_O"
	TL_VAL=$TL_L
	[ "$TL_RC" = 0 ] && [ -n "$TL_VAL" ] || { TL_VAL= && return 0; }
	[ -z "$2" ] || [ "$2" = "$TL_VAL" ] || return 0
	TL_OK=1
}

tl_k_libvirt_snapshot() {
	tl_need virsh "libvirt probes need virsh (package libvirt-clients)" || return
	tl_x "$TL_B" -c qemu:///system snapshot-list --domain "$1" --name
	TL_X=$TL_RC
	TL_OUTF=$TL_E
	[ "$TL_RC" = 0 ] || return 0
	TL_VAL=
	while IFS= read -r TL_L; do
		[ -n "$TL_L" ] && TL_VAL="$TL_VAL$TL_L
"
	done <"$TL_O"
	TL_VAL=${TL_VAL%
}
	if [ -n "$2" ]; then
		tl_in_list "$TL_VAL" "$2" && TL_OK=1
	else
		[ -n "$TL_VAL" ] && TL_OK=1
	fi
	return 0
}

# ---- network kinds run from this machine ---------------------------------

tl_k_ping() {
	tl_need ping || return
	tl_left
	tl_x "$TL_B" -c 1 -W "$TL_LEFT" "$1"
	TL_X=$TL_RC
	TL_VAL=
	while IFS= read -r TL_L; do
		case $TL_L in *"packets transmitted"*) TL_VAL=$TL_L ;; esac
	done <"$TL_O"
	[ "$TL_RC" = 0 ] && TL_OK=1
	return 0
}

tl_k_tcp_connect() {
	case $2 in '' | *[!0-9]*) tl_fail "port \"$2\" is not a number"; return ;; esac
	if tl_bin bash; then
		tl_x "$TL_B" -c 'exec 3<>"/dev/tcp/$1/$2"' tcp "$1" "$2"
	elif tl_bin python3; then
		tl_left
		tl_x "$TL_B" -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3])).close()' "$1" "$2" "$TL_LEFT"
	else
		tl_fail "no way to open a TCP connection here (bash or python3)"
		return
	fi
	TL_X=$TL_RC
	if [ "$TL_RC" = 0 ]; then
		TL_VAL=open
		TL_OK=1
	else
		tl_errline
		TL_VAL=${TL_L##*: }
	fi
	return 0
}

tl_k_http_request() { tl_http "$1" "$2" "$3" 1; }
tl_k_dns_query() { tl_dns "$1" "$2" "$3" "$4"; }

# ---- the batch -------------------------------------------------------------

# tl_abort WHY: the agent cannot work at all; one record says why.
# WHY is built from the agent's own words and tool names only (no quote,
# no backslash), so it is printed as it is.
tl_abort() {
	printf '{"tl":1,"n":"%s","t":"abort","why":"%s"}\n' "$TL_NONCE" "$1"
	tl_cleanup
	exit 0
}

# (the folder goes in the background, with no copy of our stdout, so that
# the SSH channel closes as soon as the records are out)
tl_cleanup() {
	[ -n "$TL_WD" ] && kill "$TL_WD" 2>/dev/null
	TL_WD=
	if [ -n "$TL_T" ] && [ -d "$TL_T" ] && [ -n "$TL_RM" ]; then
		(
			exec </dev/null >/dev/null 2>&1
			exec "$TL_RM" -rf "$TL_T"
		) &
	fi
	TL_T=
}

# The watchdog kills the running tool once its probe's deadline passed,
# and goes away with the agent (its folder gone, or the agent gone).
tl_watchdog() {
	while [ -f "$TL_T/cur" ] && kill -0 "$TL_MAIN" 2>/dev/null; do
		"$TL_SLEEP" 1
		TL_WP=
		read -r TL_WP TL_WDL <"$TL_T/cur" 2>/dev/null
		[ -n "$TL_WP" ] || continue
		tl_now
		if [ "$TL_WDL" -gt 0 ] && [ "$TL_NOW" -ge "$TL_WDL" ]; then
			kill -9 "$TL_WP" 2>/dev/null
			printf '%s\n' "$TL_WP" >"$TL_T/killed"
		fi
	done
}

# tl_begin NONCE VALUE_CAP OUTPUT_CAP HASH
tl_begin() {
	TL_NONCE=$1
	case $TL_NONCE in '' | *[!0-9a-f]*) printf '{"tl":1,"t":"abort"}\n' && exit 0 ;; esac
	TL_VCAP=${2:-32768}
	TL_OCAP=${3:-8192}
	TL_HASH=${4:-0}
	export TL_NONCE TL_VCAP TL_OCAP
	printf '{"tl":1,"n":"%s","t":"start","proto":%s}\n' "$TL_NONCE" "$TL_PROTO"
	TL_MAIN=$$
	# the shell that runs us and the env that started it (the fixed
	# command) are part of the integrity report
	TL_BINS="B sh /bin/sh
B env /usr/bin/env
"
	TL_APPLETS=0
	tl_bin mkdir || tl_abort "mkdir: not found on this machine (looked in $TL_DIRS): the agent needs it"
	for TL_D in /run /tmp; do
		[ -d "$TL_D" ] && [ -w "$TL_D" ] || continue
		if "$TL_B" -m 700 "$TL_D/tssrlab-$TL_NONCE" 2>/dev/null; then
			TL_T=$TL_D/tssrlab-$TL_NONCE
			break
		fi
	done
	[ -n "$TL_T" ] || tl_abort "cannot create a private folder in /run or /tmp"
	# busybox ash with built-in applets says "stat is stat"; dash and
	# bash name a file
	type stat >"$TL_T/type" 2>/dev/null
	TL_TY=
	read -r TL_TY <"$TL_T/type"
	[ "$TL_TY" = "stat is stat" ] && TL_APPLETS=1
	for TL_TOOL in rm sleep od wc awk head; do
		tl_bin "$TL_TOOL" || tl_abort "$TL_TOOL: not found on this machine (looked in $TL_DIRS): the agent needs it"
		case $TL_TOOL in
		rm) TL_RM=$TL_B ;;
		sleep) TL_SLEEP=$TL_B ;;
		od) TL_OD=$TL_B ;;
		wc) TL_WC=$TL_B ;;
		awk) TL_AWK=$TL_B ;;
		head) TL_HEAD=$TL_B ;;
		esac
	done
	TL_STAT=
	if [ "$TL_HASH" = 1 ]; then
		tl_bin sha256sum || tl_abort "sha256sum: not found on this machine: the integrity check needs it"
		TL_SHA=$TL_B
		tl_bin stat && TL_STAT=$TL_B
	fi
	trap 'tl_cleanup' EXIT
	trap 'tl_cleanup; exit 141' PIPE HUP INT TERM
	: >"$TL_T/cur"
	: >"$TL_T/killed"
	# A subshell that replaces its fds with exec: a function started in
	# the background with redirections would keep saved copies of our
	# stdout (dash and busybox do), and the SSH channel would stay open
	# until it ends. It must not run our traps either.
	(
		exec </dev/null >/dev/null 2>&1
		trap - EXIT PIPE HUP INT TERM
		tl_watchdog
	) &
	TL_WD=$!
	TL_META=
	TL_FILES=
	TL_N=0
}

# tl_p INDEX TIMEOUT KIND ARGS...: runs one probe and keeps its result.
tl_p() {
	TL_I=$1
	TL_TO=$2
	TL_K=$3
	shift 3
	case $TL_I$TL_TO in *[!0-9]* | '') return 0 ;; esac
	TL_OK=0 TL_ST=done TL_X=-1 TL_H=-1 TL_VAL= TL_VALF= TL_OUTF= TL_MSG= TL_CMD= TL_TIMEDOUT=0
	TL_O=$TL_T/$TL_I.o
	TL_E=$TL_T/$TL_I.e
	: >"$TL_O"
	: >"$TL_E"
	tl_now
	TL_START=$TL_NOW
	TL_DL=0
	[ "$TL_NOW" -gt 0 ] && TL_DL=$((TL_NOW + TL_TO * 1000))
	case $TL_K in
	service.active) tl_k_service_active "$@" ;;
	service.enabled) tl_k_service_enabled "$@" ;;
	package.installed) tl_k_package_installed "$@" ;;
	user.exists) tl_k_user_exists "$@" ;;
	user.sudo) tl_k_user_sudo "$@" ;;
	group.members) tl_k_group_members "$@" ;;
	file.exists) tl_k_file_exists "$@" ;;
	file.mode) tl_k_file_mode "$@" ;;
	file.owner) tl_k_file_owner "$@" ;;
	file.content) tl_k_file_content "$@" ;;
	file.checksum) tl_k_file_checksum "$@" ;;
	file.fresh) tl_k_file_fresh "$@" ;;
	acl.entry) tl_k_acl_entry "$@" ;;
	process.running) tl_k_process_running "$@" ;;
	port.listening) tl_k_port_listening "$@" ;;
	command.run) tl_k_command_run "$@" ;;
	http.local) tl_k_http_local "$@" ;;
	net.address) tl_k_net_address "$@" ;;
	net.route) tl_k_net_route "$@" ;;
	net.interface) tl_k_net_interface "$@" ;;
	dns.resolve) tl_k_dns_resolve "$@" ;;
	dhcp.scope) tl_k_dhcp_scope "$@" ;;
	dhcp.lease) tl_k_dhcp_lease "$@" ;;
	firewall.rule) tl_k_firewall_rule "$@" ;;
	sysctl.value) tl_k_sysctl_value "$@" ;;
	sshd.setting) tl_k_sshd_setting "$@" ;;
	cron.entry) tl_k_cron_entry "$@" ;;
	systemd.timer) tl_k_systemd_timer "$@" ;;
	mount.present) tl_k_mount_present "$@" ;;
	lvm.volume) tl_k_lvm_volume "$@" ;;
	log.line) tl_k_log_line "$@" ;;
	samba.user) tl_k_samba_user "$@" ;;
	samba.group) tl_k_samba_group "$@" ;;
	samba.ou) tl_k_samba_ou "$@" ;;
	samba.gpo) tl_k_samba_gpo "$@" ;;
	samba.object) tl_k_samba_object "$@" ;;
	samba.dns) tl_k_samba_dns "$@" ;;
	samba.share) tl_k_samba_share "$@" ;;
	wireguard.peer) tl_k_wireguard_peer "$@" ;;
	openvpn.tunnel) tl_k_openvpn_tunnel "$@" ;;
	snmp.get) tl_k_snmp_get "$@" ;;
	monitoring.host) tl_k_monitoring_host "$@" ;;
	container.running) tl_k_container_running "$@" ;;
	libvirt.domain) tl_k_libvirt_domain "$@" ;;
	libvirt.snapshot) tl_k_libvirt_snapshot "$@" ;;
	ping) tl_k_ping "$@" ;;
	tcp.connect) tl_k_tcp_connect "$@" ;;
	http.request) tl_k_http_request "$@" ;;
	dns.query) tl_k_dns_query "$@" ;;
	*) tl_fail "unknown probe kind \"$TL_K\" (agent protocol $TL_PROTO)" ;;
	esac
	if [ "$TL_TIMEDOUT" = 1 ]; then
		TL_ST=error
		TL_OK=0
		TL_MSG="timed out after $TL_TO s (the probe's timeout): stopped"
	fi
	tl_now
	TL_MS=$((TL_NOW - TL_START))
	[ "$TL_MS" -ge 0 ] || TL_MS=0
	TL_P=$TL_T/$TL_I
	printf '%s' "$TL_CMD" >"$TL_P.c"
	if [ -n "$TL_VALF" ]; then
		[ -f "$TL_VALF" ] || : >"$TL_VALF"
	else
		TL_VALF=$TL_P.v
		printf '%s' "$TL_VAL" >"$TL_VALF"
	fi
	TL_OUTF=${TL_OUTF:-$TL_O}
	[ -f "$TL_OUTF" ] || : >"$TL_OUTF"
	printf '%s' "$TL_MSG" >"$TL_P.m"
	TL_META="${TL_META}P $TL_I $TL_ST $TL_OK $TL_X $TL_H $TL_MS
"
	TL_FILES="$TL_FILES $TL_P.c $TL_VALF $TL_OUTF $TL_P.m"
	TL_N=$((TL_N + 1))
	return 0
}

# The encoder: reads the probes' metadata, the file sizes, the tools and
# their hashes, then the od dump of every field file in order, and prints
# the records. Only hex, digits and fixed words reach the output.
TL_AWKPROG='
function num(v) { return (v ~ /^-?[0-9]+$/) ? v + 0 : -1 }
function opennext(   f, k, q) {
	cur++
	if (cur > nfiles) return 0
	left = size[cur]; written = 0
	k = (cur - 1) % 4; q = int((cur - 1) / 4) + 1
	if (k == 0) {
		printf "{\"tl\":1,\"n\":\"%s\",\"t\":\"probe\",\"i\":%d,\"s\":\"%s\",\"ok\":%s,\"x\":%d,\"h\":%d,\"ms\":%d,\"c\":\"", nonce, pi[q], ps[q], pok[q], px[q], ph[q], pms[q]
		trf = ""
	} else printf "\",\"%s\":\"", fname[k]
	return 1
}
function closecur(   k) {
	k = (cur - 1) % 4
	if (left > 0) trf = trf "!"
	if (cut[cur] || size[cur] > cap[k]) trf = trf fname[k]
	if (k == 3) { printf "\",\"tr\":\"%s\"}\n", trf; nprobes++ }
}
BEGIN {
	sec = "P"; nonce = ENVIRON["TL_NONCE"]; cur = 0; nfiles = 0
	fname[0] = "c"; fname[1] = "v"; fname[2] = "o"; fname[3] = "m"
	cap[0] = 4096; cap[1] = ENVIRON["TL_VCAP"] + 0; cap[2] = ENVIRON["TL_OCAP"] + 0; cap[3] = 4096
}
$0 == "@S" { sec = "S"; next }
$0 == "@B" { sec = "B"; next }
$0 == "@I" { sec = "I"; next }
$0 == "@Y" { sec = "Y"; next }
$0 == "@H" { sec = "H"; if (nfiles > 0) { opennext() }; next }
sec == "P" {
	if ($1 == "P") {
		np++; pi[np] = num($2); ps[np] = ($3 == "done") ? "done" : "error"
		pok[np] = ($4 == "1") ? "true" : "false"; px[np] = num($5); ph[np] = num($6); pms[np] = num($7)
	}
	next
}
sec == "S" { nfiles++; size[nfiles] = num($1); if (size[nfiles] < 0) size[nfiles] = 0; cut[nfiles] = ($2 == "1"); next }
sec == "B" { if ($1 == "B" && $2 ~ /^[A-Za-z0-9_.+-]+$/ && $3 ~ /^\/[A-Za-z0-9_.+\/-]+$/ && !($3 in bseen)) { nb++; bn[nb] = $2; bp[nb] = $3; bseen[$3] = 1 } next }
sec == "I" { fid[$2] = $1; if (!($1 in frep)) frep[$1] = $2; next }
sec == "Y" { h = $1; p = $2; sub(/^\*/, "", p); if (length(h) == 64 && h !~ /[^0-9a-f]/) yh[p] = h; next }
sec == "H" {
	buf = ""
	for (j = 1; j <= NF; j++) {
		while (cur <= nfiles && left <= 0) { printf "%s", buf; buf = ""; closecur(); opennext() }
		if (cur > nfiles) break
		if (written < cap[(cur - 1) % 4]) { buf = buf $j; written++ }
		left--
	}
	printf "%s", buf
	next
}
END {
	if (sec == "H" && nfiles > 0) {
		while (cur <= nfiles) { closecur(); opennext() }
	}
	for (k = 1; k <= nb; k++) {
		p = bp[k]
		if (!(p in yh) && (p in fid)) p = frep[fid[p]]
		printf "{\"tl\":1,\"n\":\"%s\",\"t\":\"bin\",\"name\":\"%s\",\"p\":\"%s\",\"sha256\":\"%s\"}\n", nonce, bn[k], bp[k], (p in yh) ? yh[p] : ""
	}
	printf "{\"tl\":1,\"n\":\"%s\",\"t\":\"end\",\"count\":%d}\n", nonce, nprobes
}'

# tl_end COUNT: encodes and prints every record, then cleans up.
tl_end() {
	[ -n "$TL_WD" ] && kill "$TL_WD" 2>/dev/null
	TL_WD=
	TL_SZ=
	if [ -n "$TL_FILES" ]; then
		set -- $TL_FILES
		"$TL_WC" -c "$@" >"$TL_T/wc" 2>/dev/null
		# A field file far past its cap is cut before od reads it.
		TL_LIST=
		while read -r TL_WS TL_WF; do
			# wc skips a file it cannot read: that field is empty
			while [ $# -gt 0 ] && [ "$TL_WF" != "$1" ]; do
				TL_LIST="$TL_LIST $TL_NULL"
				TL_SZ="${TL_SZ}0 0
"
				shift
			done
			[ $# -gt 0 ] || break
			case $TL_WS in '' | *[!0-9]*) TL_WS=0 ;; esac
			if [ "$TL_WS" -gt 1048576 ]; then
				"$TL_HEAD" -c 1048576 "$1" >"$1.cut" 2>/dev/null
				TL_LIST="$TL_LIST $1.cut"
				TL_SZ="${TL_SZ}1048576 1
"
			else
				TL_LIST="$TL_LIST $1"
				TL_SZ="${TL_SZ}$TL_WS 0
"
			fi
			shift
		done <"$TL_T/wc"
		while [ $# -gt 0 ]; do
			TL_LIST="$TL_LIST $TL_NULL"
			TL_SZ="${TL_SZ}0 0
"
			shift
		done
	fi
	# Tools to hash, one path per file: the same binary reached through
	# several names (busybox applets, /bin and /usr/bin) is read once.
	TL_HP=
	TL_IDS=
	if [ "$TL_HASH" = 1 ]; then
		TL_IL=$TL_BINS
		while [ -n "$TL_IL" ]; do
			TL_IW=${TL_IL%%
*}
			TL_HP="$TL_HP ${TL_IW##* }"
			TL_IL=${TL_IL#*
}
		done
		if [ -n "$TL_STAT" ] && "$TL_STAT" -L -c '%d:%i %n' $TL_HP >"$TL_T/ids" 2>/dev/null; then
			TL_HP=
			TL_SEEN=' '
			while read -r TL_ID TL_IP; do
				TL_IDS="$TL_IDS$TL_ID $TL_IP
"
				case $TL_SEEN in *" $TL_ID "*) continue ;; esac
				TL_SEEN="$TL_SEEN$TL_ID "
				TL_HP="$TL_HP $TL_IP"
			done <"$TL_T/ids"
		fi
	fi
	{
		printf '%s' "$TL_META"
		printf '@S\n%s' "$TL_SZ"
		printf '@B\n%s' "$TL_BINS"
		printf '@I\n%s' "$TL_IDS"
		printf '@Y\n'
		[ -n "$TL_HP" ] && "$TL_SHA" $TL_HP 2>/dev/null
		printf '@H\n'
		[ -n "$TL_FILES" ] && "$TL_OD" -An -v -tx1 $TL_LIST 2>/dev/null
	} | "$TL_AWK" "$TL_AWKPROG"
	tl_cleanup
	trap - EXIT
}
