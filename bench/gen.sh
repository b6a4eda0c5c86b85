#!/bin/sh
# Generates the benchmark zone and query mix into DIR:
#   DIR/bench.example.zone  100 000 names: hosts (A+AAAA), 1 000 delegations
#                           with glue, 5 000 CNAMEs, a wildcard
#   DIR/queries.txt         100 000 queries: ~70% existing A/AAAA, 10%
#                           NXDOMAIN, 5% NODATA, 5% referral, 5% CNAME,
#                           5% wildcard
set -eu
dir=$1
awk 'BEGIN {
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
	for (i = 0; i < 93000; i++) {
		printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
		printf "h%d IN AAAA 2001:db8::%x:%x\n", i, int(i / 65536), i % 65536
	}
	for (i = 0; i < 1000; i++) {
		printf "d%d IN NS ns1.d%d.bench.example.\n", i, i
		printf "d%d IN NS ns2.example.net.\n", i
		printf "ns1.d%d IN A 198.51.%d.%d\n", i, int(i / 256) % 256, i % 256
	}
	for (i = 0; i < 5000; i++)
		printf "c%d IN CNAME h%d\n", i, i * 7
}' > "$dir/bench.example.zone"

awk 'BEGIN {
	srand(42)
	for (i = 0; i < 100000; i++) {
		r = rand() * 100
		if (r < 35) printf "h%d.bench.example. A\n", int(rand() * 93000)
		else if (r < 70) printf "h%d.bench.example. AAAA\n", int(rand() * 93000)
		else if (r < 80) printf "nx%d.bench.example. A\n", int(rand() * 1000000)
		else if (r < 85) printf "h%d.bench.example. TXT\n", int(rand() * 93000)
		else if (r < 90) printf "www.d%d.bench.example. A\n", int(rand() * 1000)
		else if (r < 95) printf "c%d.bench.example. A\n", int(rand() * 5000)
		else printf "x%d.w.bench.example. A\n", int(rand() * 1000000)
	}
}' > "$dir/queries.txt"

# NXDOMAIN only: random names that do not exist (each a fresh proof).
awk 'BEGIN {
	srand(43)
	for (i = 0; i < 100000; i++) printf "nx%d.bench.example. A\n", int(rand() * 100000000)
}' > "$dir/queries-nx.txt"
