# test_grading.py: the 20 checks of scenario grading-debian with testinfra
# (Debian's python3-testinfra), as a trainer writes them. Run by
# tests/bench/bench_grading.c:
#   py.test -q -p no:cacheprovider --hosts=ssh://root@127.0.0.1:PORT \
#           --ssh-config=CONFIG --ssh-identity-file=KEY test_grading.py
# 15 pass, 5 fail (the same as the other graders of the benchmark).


def test_01_nginx_active(host):
    assert host.service("nginx").is_running


def test_02_nginx_enabled(host):
    assert host.service("nginx").is_enabled


def test_03_cron_active(host):
    assert host.service("cron").is_running


def test_04_nginx_installed(host):
    assert host.package("nginx").is_installed


def test_05_apache2_installed(host):
    assert host.package("apache2").is_installed


def test_06_alice(host):
    alice = host.user("alice")
    assert alice.shell == "/bin/bash"
    assert "webadmins" in alice.groups


def test_07_carol(host):
    assert host.user("carol").exists


def test_08_webadmins_members(host):
    line = host.check_output("getent group webadmins")
    members = line.split(":")[3].split(",")
    assert "alice" in members and "bob" in members


def test_09_conf_mode(host):
    assert host.file("/etc/app.conf").mode == 0o640


def test_10_conf_owner(host):
    f = host.file("/etc/app.conf")
    assert (f.user, f.group) == ("root", "webadmins")


def test_11_conf_content(host):
    assert host.file("/etc/app.conf").contains("^mode=prod$")


def test_12_index(host):
    assert host.file("/srv/www/index.html").is_file


def test_13_port_80(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening


def test_14_port_443(host):
    assert host.socket("tcp://0.0.0.0:443").is_listening


def test_15_sshd_password(host):
    assert "passwordauthentication no" in host.check_output("sshd -T").splitlines()


def test_16_ip_forward(host):
    assert host.sysctl("net.ipv4.ip_forward") == 1


def test_17_cron_backup(host):
    assert host.run("grep -Eqs 'backup\\.sh' /etc/crontab /etc/cron.d/*").rc == 0


def test_18_hostname(host):
    assert host.check_output("hostname") == "srv-web"


def test_19_http(host):
    out = host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/")
    assert out == "200"


def test_20_sshd_running(host):
    assert host.process.filter(comm="sshd")
