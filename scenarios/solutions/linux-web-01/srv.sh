#!/bin/sh
# Reference solution of linux-web-01 on srv (kept out of trainees' view).
set -eu
id adminweb >/dev/null 2>&1 || useradd -m -s /bin/bash adminweb
usermod -aG sudo adminweb
sed -i 's/^#\?[[:space:]]*PasswordAuthentication.*/PasswordAuthentication no/' /etc/ssh/sshd_config
grep -q '^PasswordAuthentication no' /etc/ssh/sshd_config || echo 'PasswordAuthentication no' >>/etc/ssh/sshd_config
systemctl reload ssh || systemctl restart ssh
mkdir -p /var/www/martin
printf '<!doctype html>\n<title>Boulangerie Martin</title>\n<h1>Boulangerie Martin</h1>\n' >/var/www/martin/index.html
chown -R adminweb:adminweb /var/www/martin
chmod 755 /var/www/martin
chmod 644 /var/www/martin/index.html
sed -i 's#^\([[:space:]]*root[[:space:]]\+\)/var/www/html;#\1/var/www/martin;#' /etc/nginx/sites-available/default
systemctl enable --now nginx
# restart, not reload: reload only signals nginx and returns, and a request
# right after it can still reach a worker of the old configuration
systemctl restart nginx
