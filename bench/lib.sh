# Shared by the bench scripts (sourced): a temporary directory removed at
# exit with the processes in $pids stopped, free ports, and the big zone.

# bench_dir PREFIX: makes $dir and the exit handler.
bench_dir() {
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	pids=""
	trap bench_cleanup EXIT INT TERM
}

bench_cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 0.5
	rm -rf "$dir"
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# ms T0 T1: milliseconds between two date +%s%N readings.
ms() { echo $(( ($2 - $1) / 1000000 )); }

# big_zone N FILE: big.example with N records (apex SOA and NS, N-2 A).
big_zone() {
	awk -v n="$1" 'BEGIN {
		print "$TTL 3600"
		print "$ORIGIN big.example."
		print "@ IN SOA ns1.big.example. hostmaster.big.example. 2026120100 36000 3600 1209600 300"
		print "@ IN NS ns1.big.example."
		print "ns1 IN A 192.0.2.1"
		for (i = 0; i < n - 3; i++)
			printf "h%d IN A 10.%d.%d.%d\n", i, int(i / 65536) % 256, int(i / 256) % 256, i % 256
	}' > "$2"
}
