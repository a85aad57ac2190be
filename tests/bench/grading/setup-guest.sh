# setup-guest.sh: prepares the benchmark's debian12 guest (run as root by
# tests/bench/bench_grading.c through `sh -s`) so that the 20 checks of
# scenario grading-debian are a realistic mix: 15 pass, 5 fail
# (apache2 is not installed, carol does not exist, bob is not in
# webadmins, nothing listens on 443, IPv4 forwarding is off).
set -e
groupadd -f webadmins
id alice >/dev/null 2>&1 || useradd -m -s /bin/bash -G webadmins alice
id bob >/dev/null 2>&1 || useradd -m -s /bin/sh bob
printf 'listen=8080\nmode=prod\n' >/etc/app.conf
chown root:webadmins /etc/app.conf
chmod 640 /etc/app.conf
mkdir -p /srv/www
printf '<h1>Boulangerie Martin</h1>\n' >/srv/www/index.html
chown -R www-data:www-data /srv/www
printf '30 2 * * * root /usr/local/bin/backup.sh\n' >/etc/cron.d/backup
printf 'PasswordAuthentication no\n' >/etc/ssh/sshd_config.d/50-bench.conf
sysctl -qw net.ipv4.ip_forward=0
for unit in nginx cron; do
	systemctl is-enabled --quiet "$unit" ||
		systemctl enable --quiet "$unit" </dev/null >/dev/null 2>&1
	systemctl is-active --quiet "$unit" || systemctl start "$unit" </dev/null
	systemctl is-active --quiet "$unit"
done
