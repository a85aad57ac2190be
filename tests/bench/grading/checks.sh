# checks.sh: the 20 checks of scenario grading-debian as a trainer writes
# them in shell, one per line, each exiting 0 when the check passes. The
# benchmark runs them one ssh connection each (ssh_per_check) and all in
# one script over one ssh connection (floor).
systemctl is-active --quiet nginx
systemctl is-enabled --quiet nginx
systemctl is-active --quiet cron
dpkg-query -W -f='${Status}' nginx 2>/dev/null | grep -q 'ok installed'
dpkg-query -W -f='${Status}' apache2 2>/dev/null | grep -q 'ok installed'
getent passwd alice | grep -q ':/bin/bash$' && id -nG alice | grep -qw webadmins
getent passwd carol >/dev/null
getent group webadmins | awk -F: '{n = split($4, m, ","); for (i = 1; i <= n; i++) s[m[i]] = 1} END {exit !(s["alice"] && s["bob"])}'
test "$(stat -c %a /etc/app.conf)" = 640
test "$(stat -c %U:%G /etc/app.conf)" = root:webadmins
grep -Eq '^mode=prod$' /etc/app.conf
test -f /srv/www/index.html
ss -Hlnt | grep -q ':80 '
ss -Hlnt | grep -q ':443 '
sshd -T | grep -qx 'passwordauthentication no'
test "$(cat /proc/sys/net/ipv4/ip_forward)" = 1
grep -Eqs 'backup\.sh' /etc/crontab /etc/cron.d/*
test "$(hostname)" = srv-web
test "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/)" = 200
pgrep -x sshd >/dev/null
