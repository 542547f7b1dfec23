#!/bin/sh
# What the tests and the demo need from the distribution, in one place:
# `make test`, `make demo` and .ci/run all call this. As root it installs
# what is missing (Debian/Ubuntu: apt-get) and says so; otherwise it prints
# the one command that would, and the end-to-end tests skip (CI=true makes
# that a failure). Each line: a command (or an absolute path), then the
# package that has it, then "demo" when `make demo` needs it too:
# `tests/deps.sh demo` installs only those (no Ansible, no sshd).
set -eu
needed='systemd-nspawn systemd-container demo
systemd-analyze systemd demo
systemctl systemd demo
journalctl systemd demo
nsenter util-linux demo
setpriv util-linux
runuser util-linux
dbus-daemon dbus
dpkg-deb dpkg
make make demo
promtool prometheus
chromium chromium
ip iproute2
ssh openssh-client
ssh-keygen openssh-client
sshd openssh-server
ansible-playbook ansible-core
ansible-vault ansible-core
/usr/lib/python3/dist-packages/apt/__init__.py python3-apt
needrestart needrestart'
only=${1:-}
missing=$(printf '%s\n' "$needed" | while read -r cmd pkg for; do
	[ -z "$only" ] || [ "$for" = "$only" ] || continue
	case $cmd in
	/*) [ -e "$cmd" ] || echo "$pkg" ;; # the apt module of Ansible's role needs it
	*) command -v "$cmd" >/dev/null 2>&1 || echo "$pkg" ;;
	esac
done | sort -u | tr '\n' ' ')
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "missing for the end-to-end tests and the demo: $missing"
	echo "install them with: sudo apt-get install -y $missing"
	exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
	echo "missing: $missing (no apt-get here: install them with your distribution's tools)" >&2
	exit 1
fi
echo "installing what the tests need: $missing"
export DEBIAN_FRONTEND=noninteractive
# openssh-server is for the fleet test's containers only (they share this
# host's files): Debian's sshd unit and init script do nothing while this
# file exists, so the package never starts or runs sshd on this host. A
# host that had sshd already is left as it was.
case " $missing " in *" openssh-server "*)
	mkdir -p /etc/ssh && : >/etc/ssh/sshd_not_to_be_run
	echo "openssh-server is installed but kept from running on this host (/etc/ssh/sshd_not_to_be_run)";;
esac
# needrestart is for TestDeb (the package's override keeps it from
# restarting servers): on this host it only lists, never restarts, from
# before its own installation on (apt runs it after every install).
case " $missing " in *" needrestart "*)
	mkdir -p /etc/needrestart/conf.d
	printf '%s\n' '# tests/deps.sh: list what needs a restart, never restart (-r overrides it)' \
		"\$nrconf{restart} = 'l';" >/etc/needrestart/conf.d/zz-left4me-tests.conf
	echo "needrestart is installed to list only on this host (/etc/needrestart/conf.d/zz-left4me-tests.conf)";;
esac
apt-get update -qq
# shellcheck disable=SC2086 # one word per package
apt-get install -y -qq --no-install-recommends $missing
