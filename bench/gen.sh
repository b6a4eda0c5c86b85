#!/bin/sh
# Generates the benchmark zone and query mix into DIR:
#   DIR/bench.example.zone  NAMES names (default 100 000): 93% hosts
#                           (A+AAAA), 1% delegations with glue, 5% CNAMEs,
#                           a wildcard
#   DIR/queries.txt         100 000 queries (NAMES when larger): ~70%
#                           existing A/AAAA, 10% NXDOMAIN, 5% NODATA, 5%
#                           referral, 5% CNAME, 5% wildcard, spread
#                           uniformly over the names
#   DIR/queries-nx.txt      random names that do not exist
#   DIR/queries-a.txt       every host's A once, in random order (no name
#                           asked twice in a pass)
set -eu
dir=$1
NAMES=${NAMES:-100000}
hosts=$((NAMES * 93 / 100))
dels=$((NAMES / 100))
cnames=$((NAMES / 20))
nq=$NAMES
[ "$nq" -lt 100000 ] && nq=100000
awk -v hosts="$hosts" -v dels="$dels" -v cnames="$cnames" 'BEGIN {
	print "$TTL 3600"
	print "$ORIGIN bench.example."
	print "@ IN SOA ns1.bench.example. hostmaster.bench.example. 2026112200 3600 900 1209600 300"
	print "@ IN NS ns1.bench.example."
	print "@ IN NS ns2.bench.example."
	print "@ IN MX 10 mail.bench.example."
	print "ns1 IN A 192.0.2.1"
	print "ns2 IN A 192.0.2.2"
	print "mail IN A 192.0.2.3"
	print "*.w IN A 192.0.2.99"
	for (i = 0; i < hosts; i++) {
		printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
		printf "h%d IN AAAA 2001:db8::%x:%x\n", i, int(i / 65536), i % 65536
	}
	for (i = 0; i < dels; i++) {
		printf "d%d IN NS ns1.d%d.bench.example.\n", i, i
		printf "d%d IN NS ns2.example.net.\n", i
		printf "ns1.d%d IN A 198.51.%d.%d\n", i, int(i / 256) % 256, i % 256
	}
	for (i = 0; i < cnames; i++)
		printf "c%d IN CNAME h%d\n", i, (i * 7) % hosts
}' > "$dir/bench.example.zone"

awk -v hosts="$hosts" -v dels="$dels" -v cnames="$cnames" -v nq="$nq" 'BEGIN {
	srand(42)
	for (i = 0; i < nq; i++) {
		r = rand() * 100
		if (r < 35) printf "h%d.bench.example. A\n", int(rand() * hosts)
		else if (r < 70) printf "h%d.bench.example. AAAA\n", int(rand() * hosts)
		else if (r < 80) printf "nx%d.bench.example. A\n", int(rand() * 1000000)
		else if (r < 85) printf "h%d.bench.example. TXT\n", int(rand() * hosts)
		else if (r < 90) printf "www.d%d.bench.example. A\n", int(rand() * dels)
		else if (r < 95) printf "c%d.bench.example. A\n", int(rand() * cnames)
		else printf "x%d.w.bench.example. A\n", int(rand() * 1000000)
	}
}' > "$dir/queries.txt"

awk -v hosts="$hosts" 'BEGIN {srand(44); for (i = 0; i < hosts; i++) printf "%.9f h%d.bench.example. A\n", rand(), i}' |
	sort -n | cut -d' ' -f2- > "$dir/queries-a.txt"

# NXDOMAIN only: random names that do not exist (each a fresh proof).
awk 'BEGIN {
	srand(43)
	for (i = 0; i < 100000; i++) printf "nx%d.bench.example. A\n", int(rand() * 100000000)
}' > "$dir/queries-nx.txt"
