#!/bin/sh
# Half of linux-web-01's solution: the account, without sudo; nginx
# running on its default page. For the scenario's "partial" proof.
set -eu
id adminweb >/dev/null 2>&1 || useradd -m -s /bin/bash adminweb
systemctl enable --now nginx
