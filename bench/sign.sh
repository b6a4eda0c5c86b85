#!/bin/sh
# make bench-sign: sign a 1 000 000-record zone (dms dnssec enable, both
# cores) and commit one record into the signed zone, directly and through a
# running dms serve. Prints the times and the store size.
set -eu
BIN=${BIN:-$(pwd)/bin/dms}
RECORDS=${RECORDS:-1000000}
. "$(dirname "$0")/lib.sh"
bench_dir dms-sign

big_zone "$RECORDS" "$dir/big.example.zone"
"$BIN" --db "$dir/dms.db" zone load "$dir/big.example.zone" >/dev/null
echo "store before signing: $(( $(stat -c %s "$dir/dms.db") / 1048576 )) MiB"
t0=$(date +%s%N)
"$BIN" --db "$dir/dms.db" dnssec enable big.example >/dev/null
t1=$(date +%s%N)
echo "dms dnssec enable, $RECORDS records (NSEC3, algorithm 13, $(nproc) cores): $(ms "$t0" "$t1") ms"
echo "store after signing: $(( $(stat -c %s "$dir/dms.db") / 1048576 )) MiB"
for i in 1 2 3; do
	t0=$(date +%s%N)
	"$BIN" --db "$dir/dms.db" record add big.example "direct$i A 192.0.2.$i" >/dev/null
	t1=$(date +%s%N)
	echo "record add into the signed zone, store opened by the command: $(ms "$t0" "$t1") ms"
done
"$BIN" --db "$dir/dms.db" serve --listen 127.0.0.1:0 --metrics-listen "" --log-level warn &
pids=$!
n=0
until [ -S "$dir/dms.db.sock" ]; do n=$((n + 1)); [ $n -gt 200 ] && exit 1; sleep 0.05; done
for i in 1 2 3; do
	t0=$(date +%s%N)
	"$BIN" --db "$dir/dms.db" record add big.example "served$i A 192.0.2.$i" >/dev/null
	t1=$(date +%s%N)
	echo "record add into the signed zone through dms serve: $(ms "$t0" "$t1") ms"
done
