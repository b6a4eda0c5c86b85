#!/bin/sh
# make bench-xfr: a 1 000 000-record zone served by dms and by knotd on
# 127.0.0.1; the same client (kdig) transfers it from each. Prints the AXFR
# time of each, dms's RSS before and at its peak during the transfer, and
# the size and time of an IXFR after a one-record change.
set -eu
BIN=${BIN:-$(pwd)/bin/dms}
RECORDS=${RECORDS:-1000000}
. "$(dirname "$0")/lib.sh"
bench_dir dms-xfr
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

echo "== generating a $RECORDS-record zone"
big_zone "$RECORDS" "$dir/big.example.zone"

dms_port=$(free_port)
t0=$(date +%s%N)
"$BIN" --db "$dir/dms.db" zone load "$dir/big.example.zone" >/dev/null
t1=$(date +%s%N)
echo "dms zone load: $(ms "$t0" "$t1") ms"
"$BIN" --db "$dir/dms.db" config set xfr_allow 127.0.0.0/8 >/dev/null
"$BIN" --db "$dir/dms.db" serve --listen "127.0.0.1:$dms_port" --metrics-listen "" --log-level warn &
dms_pid=$!
pids="$pids $dms_pid"
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$dms_port" ns1.big.example A >/dev/null 2>&1; do sleep 0.05; done

knot_port=$(free_port)
mkdir -p "$dir/knot"
cat > "$dir/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$knot_port
    rundir: $dir/knot
log:
  - target: stderr
    any: error
database:
    storage: $dir/knot
acl:
  - id: all
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: $dir
    semantic-checks: off
zone:
  - domain: big.example
    file: big.example.zone
    acl: all
CONF
knotd -c "$dir/knot/knot.conf" &
knot_pid=$!
pids="$pids $knot_pid"
n=0
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$knot_port" ns1.big.example A 2>/dev/null | grep -q 192.0.2.1; do
	n=$((n + 1)); [ $n -gt 1200 ] && { echo "knotd did not load the zone"; exit 1; }
	sleep 0.1
done

axfr() { # port -> seconds and records
	s=$(date +%s%N)
	kdig @127.0.0.1 -p "$1" +noall +answer +time=60 big.example AXFR > "$dir/axfr.out"
	e=$(date +%s%N)
	echo "$(ms "$s" "$e") ms, $(wc -l < "$dir/axfr.out") records"
}

base=$(rss_kb "$dms_pid")
peak=$base
( while kill -0 "$dms_pid" 2>/dev/null; do rss_kb "$dms_pid"; sleep 0.02; done ) > "$dir/rss" 2>/dev/null &
sampler=$!
echo "AXFR from dms:   $(axfr "$dms_port")"
kill "$sampler" 2>/dev/null || true
peak=$(sort -n "$dir/rss" | tail -1)
echo "AXFR from knotd: $(axfr "$knot_port")"
echo "AXFR from dms:   $(axfr "$dms_port") (again)"
echo "AXFR from knotd: $(axfr "$knot_port") (again)"
echo "dms RSS: $((base / 1024)) MiB before, $((peak / 1024)) MiB at the peak of the first AXFR (growth $(( (peak - base) / 1024 )) MiB)"
echo "knotd RSS: $(( $(rss_kb "$knot_pid") / 1024 )) MiB"

old=$(dig +short @127.0.0.1 -p "$dms_port" big.example SOA | awk '{print $3}')
"$BIN" --db "$dir/dms.db" record add big.example "changed A 192.0.2.200" >/dev/null
s=$(date +%s%N)
kdig @127.0.0.1 -p "$dms_port" +time=10 big.example "IXFR=$old" > "$dir/ixfr.out"
e=$(date +%s%N)
echo "IXFR from serial $old after one added record: $(grep -o 'Received [0-9]* B' "$dir/ixfr.out" | head -1), $(grep -c 'IN' "$dir/ixfr.out") lines, $(ms "$s" "$e") ms"
grep -E '^(big|changed)' "$dir/ixfr.out" | sed 's/^/    /'
