#!/bin/sh
# make bench-startup: dms serve's start-up, exec to first answer (measured
# by bench/firstanswer, one query a millisecond), median of RUNS runs, for
# a store of one small zone, of 10 000 small zones (brought in with one
# dms import bind), and of one zone of NAMES names (default 1 000 000, the
# bench-scale zone). The store's file pages are in the page cache (a
# warm start, as after a restart).
set -eu
RUNS=${RUNS:-5}
NAMES=${NAMES:-1000000}
BIN=${BIN:-$(pwd)/bin/dms}
. "$(dirname "$0")/lib.sh"
bench_dir dms-startup
(cd "$(dirname "$0")/firstanswer" && go build -o "$dir/firstanswer" .)

cat > "$dir/small.zone" <<'ZONE'
$TTL 3600
@ IN SOA ns1 hostmaster 1 3600 900 1209600 300
@ IN NS ns1
ns1 IN A 192.0.2.1
www IN A 192.0.2.80
ZONE

startup() { # DB NAME: median start-up in ms
	port=$(free_port)
	for r in $(seq "$RUNS"); do
		"$dir/firstanswer" -addr "127.0.0.1:$port" -name "$2" -- \
			"$BIN" --db "$1" serve --listen "127.0.0.1:$port" --metrics-listen "" --log-level error
	done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

"$BIN" --db "$dir/one.db" zone load --name one.example "$dir/small.zone" >/dev/null
echo "one zone:            $(startup "$dir/one.db" www.one.example) ms"

i=0
{
	echo "options { directory \"$dir\"; };"
	while [ $i -lt 10000 ]; do
		echo "zone \"z$i.example\" { type primary; file \"small.zone\"; };"
		i=$((i + 1))
	done
} > "$dir/named.conf"
t0=$(date +%s%N)
"$BIN" --db "$dir/many.db" import bind "$dir/named.conf" >/dev/null
t1=$(date +%s%N)
echo "(10 000 zones imported in $(ms "$t0" "$t1") ms)"
echo "10 000 zones:        $(startup "$dir/many.db" www.z9999.example) ms"

NAMES=$NAMES sh "$(dirname "$0")/gen.sh" "$dir" >/dev/null
t0=$(date +%s%N)
"$BIN" --db "$dir/big.db" config set zone_max_records 0 >/dev/null
"$BIN" --db "$dir/big.db" zone load "$dir/bench.example.zone" >/dev/null
t1=$(date +%s%N)
echo "($NAMES names loaded in $(ms "$t0" "$t1") ms; store $(du -m "$dir/big.db" | cut -f1) MB)"
echo "one $NAMES-name zone: $(startup "$dir/big.db" h1.bench.example) ms"
