#!/bin/sh
# Store benchmarks of issue 2, run by `make bench-store`:
#  - dms zone load of a zone file of N records (default 1 000 000): seconds
#    and peak RSS;
#  - store size on disk for it;
#  - single-record dms record add into that zone through the control socket
#    of a running dms serve: p50/p99 of the whole command and of the
#    operation itself (dms-internal timing from the server log);
#  - loading Z small zones (default 10 000) with one dms zone load.
set -eu
BIN=${BIN:-$(pwd)/bin/dms}
N=${N:-1000000}
Z=${Z:-10000}
ADDS=${ADDS:-200}
dir=$(mktemp -d /tmp/dms-bench.XXXXXX)
trap 'kill $serve_pid 2>/dev/null || true; rm -rf "$dir"' EXIT
serve_pid=

echo "== generating a zone of $N records"
awk -v n="$N" 'BEGIN {
	print "$TTL 3600"
	print "@ IN SOA ns1.example.net. hostmaster.example.net. 2026010100 600 600 604800 600"
	print "@ IN NS ns1.example.net."
	print "@ IN NS ns2.example.net."
	for (i = 0; i < n - 3; i++) {
		m = i % 4
		if (m == 0) printf "h%d IN A 192.0.2.%d\n", i, i % 254 + 1
		else if (m == 1) printf "h%d IN AAAA 2001:db8::%x:%x\n", i - 1, int(i / 65536), i % 65536
		else if (m == 2) printf "h%d IN TXT \"record %d\"\n", i - 2, i
		else printf "h%d IN MX 10 mail%d.example.net.\n", i - 3, i % 100
	}
}' > "$dir/big.example"
ls -l "$dir/big.example" | awk '{printf "zone file: %.1f MiB\n", $5/1048576}'

echo "== dms zone load ($N records)"
/usr/bin/time -f "load: %e s elapsed, %M KiB peak RSS" "$BIN" --db "$dir/dms.db" zone load "$dir/big.example" >/dev/null
ls -l "$dir/dms.db" | awk -v n="$N" '{printf "store: %.1f MiB for %d records (%.1f MiB per million)\n", $5/1048576, n, $5/1048576/(n/1000000)}'

echo "== dms record add through the control socket ($ADDS commands)"
"$BIN" --db "$dir/dms.db" serve --log-level info 2>"$dir/serve.log" &
serve_pid=$!
for _ in $(seq 100); do [ -S "$dir/dms.db.sock" ] && break; sleep 0.1; done
i=0
: > "$dir/lat"
while [ $i -lt "$ADDS" ]; do
	s=$(date +%s%N)
	"$BIN" --db "$dir/dms.db" record add big.example "new$i 300 IN A 192.0.2.1" >/dev/null
	e=$(date +%s%N)
	echo $(( (e - s) / 1000 )) >> "$dir/lat"
	i=$((i + 1))
done
sort -n "$dir/lat" | awk '{a[NR]=$1} END {printf "record add (whole command): p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000}'
grep 'msg=commit' "$dir/serve.log" | sed 's/.*seconds=\([0-9.e-]*\).*/\1/' | sort -g | awk '{a[NR]=$1} END {if (NR) printf "record add (commit in server): p50 %.2f ms, p99 %.2f ms over %d commits\n", a[int(NR*0.5)]*1000, a[int(NR*0.99)]*1000, NR}'
kill $serve_pid; wait $serve_pid 2>/dev/null || true; serve_pid=

echo "== loading $Z small zones"
mkdir "$dir/small"
awk -v z="$Z" -v d="$dir/small" 'BEGIN {
	for (i = 0; i < z; i++) {
		f = sprintf("%s/zone%d.example", d, i)
		print "$TTL 3600" > f
		print "@ IN SOA ns1.example.net. hostmaster.example.net. 1 600 600 604800 600" > f
		print "@ IN NS ns1.example.net." > f
		print "@ IN NS ns2.example.net." > f
		print "@ IN MX 10 mail.example.net." > f
		print "www IN A 192.0.2.1" > f
		print "www IN AAAA 2001:db8::1" > f
		close(f)
	}
}'
/usr/bin/time -f "load $Z zones: %e s elapsed, %M KiB peak RSS" "$BIN" --db "$dir/small.db" zone load "$dir"/small/* >/dev/null
ls -l "$dir/small.db" | awk '{printf "store: %.1f MiB\n", $5/1048576}'
