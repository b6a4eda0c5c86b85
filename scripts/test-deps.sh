#!/bin/sh
# Makes sure the tools the interop tests run are installed: real BIND, Knot,
# unbound, ldns and dig. As root with apt-get, missing Debian packages are
# installed; otherwise this stops and names them. Tests never skip because a
# tool is missing.
set -eu

# command:package pairs
need="named:bind9 knotd:knot kdig:knot-dnsutils unbound:unbound ldns-verify-zone:ldnsutils dig:dnsutils dnssec-verify:bind9-utils promtool:prometheus nsd-checkconf:nsd nsupdate:bind9-dnsutils curl:curl script:bsdutils groff:groff-base"
case "${1:-}" in
bench) need="$need dnsperf:dnsperf" ;;
esac

PATH="$PATH:/usr/sbin:/sbin"
missing=""
for pair in $need; do
	cmd=${pair%%:*}
	pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "installing Debian packages:$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
	# Package installs may start the daemons; the tests run their own.
	for svc in named bind9 knot unbound nsd prometheus prometheus-node-exporter; do
		systemctl stop "$svc" >/dev/null 2>&1 || true
	done
	exit 0
fi
echo "make test needs these Debian packages:$missing" >&2
echo "install them with: sudo apt-get install$missing" >&2
exit 1
