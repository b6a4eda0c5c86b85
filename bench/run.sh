#!/bin/sh
# make bench: dms, knotd and nsd serve the same 100 000-name zone, each
# pinned to core 0 with one worker; dnsperf runs on core 1 for SECONDS per
# run, the servers interleaved, ROUNDS rounds. Prints the median QPS of
# each server, dms's ratio to each peer, each server's RSS, and dnsperf's
# own CPU use (to show when the client is the limit). The floor
# (bench/floor: a responder that does no DNS work, recvmmsg/sendmmsg on one
# thread) runs in the same rounds: every server's CPU per query is also
# given as a ratio to it.
#
# SIGNED=1: dms signs the zone (NSEC3, algorithm 13) and knotd and nsd serve
# the same signed zone, transferred from dms (presigned); dnsperf sets DO.
# MIX=nx: NXDOMAIN-only queries (random names) instead of the mixed set;
# MIX=a: every host's A once, in random order (no name asked twice).
# NAMES=N: the zone's size (default 100 000; make bench-scale: 1 000 000).
# RRL=N: dms with response rate limiting at N responses per second.
# VIEWS=N: dms with N views (split horizon), the client's the last to
# match: N-1 views whose rules it fails are tried first.
# WORKERS=N: each server with N workers on cores 0 to N-1 (on two cores
# dnsperf then shares core 1 with them: compare the server processes' own
# CPU per query, which the summary gives beside the cores' figure).
# CACHE_MB=N: dms's answer cache bound per worker (dms serve
# --answer-cache-mb; default 0: no answer cache, every query from the wire-form
# path).
set -eu
SIGNED=${SIGNED:-0}
MIX=${MIX:-mixed}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-10}
ROUNDS=${ROUNDS:-3}
BIN=${BIN:-$(pwd)/bin/dms}
WORKERS=${WORKERS:-1}
. "$(dirname "$0")/lib.sh"
bench_dir dms-bench

echo "== generating zone and queries in $dir"
sh "$(dirname "$0")/gen.sh" "$dir"
queries="$dir/queries.txt"
[ "$MIX" = nx ] && queries="$dir/queries-nx.txt"
[ "$MIX" = a ] && queries="$dir/queries-a.txt"
echo "zone: $(grep -vc '^\$' "$dir/bench.example.zone") records; queries: $(wc -l < "$queries") ($MIX)"

cores=$(nproc)
server_cpus=0
[ "$WORKERS" -gt 1 ] && server_cpus=0-$((WORKERS - 1))
client_cpu=$((cores - 1))

# dms
dms_port=$(free_port)
# A 1 000 000-name zone has about 2 000 000 records, above the default
# bound of a zone text.
"$BIN" --db "$dir/dms.db" config set zone_max_records 0 >/dev/null
t0=$(date +%s%N)
"$BIN" --db "$dir/dms.db" zone load "$dir/bench.example.zone" >/dev/null
t1=$(date +%s%N)
echo "dms zone load: $(ms "$t0" "$t1") ms; store $(du -m "$dir/dms.db" | cut -f1) MB"
dnsperf_do=""
if [ "$SIGNED" = 1 ]; then
	t0=$(date +%s%N)
	"$BIN" --db "$dir/dms.db" dnssec enable bench.example >/dev/null
	t1=$(date +%s%N)
	echo "dms dnssec enable (sign the zone): $(ms "$t0" "$t1") ms"
	"$BIN" --db "$dir/dms.db" config set xfr_allow 127.0.0.0/8 >/dev/null
	dnsperf_do="-D"
fi
i=1
while [ "$i" -lt "${VIEWS:-1}" ]; do
	"$BIN" --db "$dir/dms.db" view create "v$i" --match '!198.51.100.1' --match "10.$i.0.0/16" >/dev/null
	i=$((i + 1))
done
[ "${VIEWS:-1}" -gt 1 ] && echo "dms: ${VIEWS} views, the client's the last"
if [ -n "${RRL:-}" ]; then
	# RRL=N: response rate limiting on at N responses per second (a rate
	# far above the load measures what limiting costs; a low one, what it
	# leaves of a flood from one address).
	"$BIN" --db "$dir/dms.db" config set rrl_responses_per_second "$RRL" >/dev/null
	echo "dms: rrl_responses_per_second $RRL"
fi
t0=$(date +%s%N)
taskset -c "$server_cpus" "$BIN" --db "$dir/dms.db" serve --listen "127.0.0.1:$dms_port" --workers "$WORKERS" --metrics-listen "" --log-level info --answer-cache-mb "${CACHE_MB:-0}" 2> "$dir/dms.log" &
dms_pid=$!
pids="$pids $dms_pid"
until dig +short +time=1 +tries=1 @127.0.0.1 -p "$dms_port" h1.bench.example A >/dev/null 2>&1; do sleep 0.01; done
t1=$(date +%s%N)
echo "dms: first answer $(ms "$t0" "$t1") ms after start"
# The name index is built in the background after start (until then the
# B+tree answers): measure once it is there.
n=0
until grep -q "name index ready" "$dir/dms.log"; do
	n=$((n + 1)); [ $n -gt 1200 ] && { echo "dms built no name index"; cat "$dir/dms.log"; exit 1; }
	sleep 0.1
done
echo "dms: $(grep -o 'name index ready.*' "$dir/dms.log" | head -1)"
if [ "$SIGNED" = 1 ]; then
	# The peers serve dms's signed zone as it transfers it.
	t0=$(date +%s%N)
	dig +noall +answer +onesoa @127.0.0.1 -p "$dms_port" bench.example AXFR > "$dir/signed.zone"
	t1=$(date +%s%N)
	echo "AXFR of the signed zone from dms: $(ms "$t0" "$t1") ms (dig), $(wc -l < "$dir/signed.zone") RRs"
	cp "$dir/signed.zone" "$dir/bench.example.zone"
fi

# knotd
knot_port=$(free_port)
mkdir -p "$dir/knot"
cat > "$dir/knot/knot.conf" <<CONF
server:
    listen: 127.0.0.1@$knot_port
    rundir: $dir/knot
    udp-workers: $WORKERS
    tcp-workers: 1
    background-workers: 1
log:
  - target: stderr
    any: error
database:
    storage: $dir/knot
acl:
  - id: xfr
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: $dir
    semantic-checks: off
    acl: xfr
zone:
  - domain: bench.example
    file: bench.example.zone
CONF
taskset -c "$server_cpus" knotd -c "$dir/knot/knot.conf" &
knot_pid=$!
pids="$pids $knot_pid"

# nsd
nsd_port=$(free_port)
mkdir -p "$dir/nsd"
cat > "$dir/nsd/nsd.conf" <<CONF
server:
    ip-address: 127.0.0.1@$nsd_port
    server-count: $WORKERS
    username: ""
    chroot: ""
    zonesdir: "$dir"
    database: ""
    zonelistfile: "$dir/nsd/zone.list"
    xfrdfile: "$dir/nsd/xfrd.state"
    pidfile: "$dir/nsd/nsd.pid"
    logfile: "$dir/nsd/nsd.log"
    verbosity: 0
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
remote-control:
    control-enable: no
zone:
    name: bench.example
    zonefile: bench.example.zone
CONF
taskset -c "$server_cpus" nsd -d -c "$dir/nsd/nsd.conf" &
nsd_pid=$!
pids="$pids $nsd_pid"

# The floor reference.
floor_port=$(free_port)
(cd "$(dirname "$0")/floor" && go build -o "$dir/floor" .)
taskset -c "$server_cpus" "$dir/floor" -listen "127.0.0.1:$floor_port" -workers "$WORKERS" &
pids="$pids $!"

for p in "$knot_port" "$nsd_port"; do
	n=0
	until dig +short +time=1 +tries=1 @127.0.0.1 -p "$p" h1.bench.example A | grep -q 10.0.0.1; do
		n=$((n + 1)); [ $n -gt 600 ] && { echo "a peer on port $p did not start"; exit 1; }
		sleep 0.1
	done
done

# Check that all three give the same answers on a sample.
for q in "h5.bench.example A" "nx1.bench.example A" "www.d3.bench.example A" "c2.bench.example A" "x.w.bench.example A"; do
	for p in "$dms_port" "$knot_port" "$nsd_port"; do
		# shellcheck disable=SC2086
		dig +norec +noall +answer @127.0.0.1 -p "$p" $q | awk '{$2=""; print}' | sort > "$dir/ans.$p"
		dig +norec @127.0.0.1 -p "$p" $q | grep -o 'status: [A-Z]*' >> "$dir/ans.$p"
	done
	cmp -s "$dir/ans.$dms_port" "$dir/ans.$knot_port" || echo "note: dms and knot differ on $q"
	cmp -s "$dir/ans.$dms_port" "$dir/ans.$nsd_port" || echo "note: dms and nsd differ on $q"
done

if [ "$SIGNED" = 1 ]; then
	# The same client transfers the signed zone from dms and from knotd.
	for p in "$dms_port" "$knot_port" "$dms_port" "$knot_port"; do
		s=$(date +%s%N)
		n=$(kdig @127.0.0.1 -p "$p" +noall +answer +time=60 bench.example AXFR | wc -l)
		e=$(date +%s%N)
		who=dms; [ "$p" = "$knot_port" ] && who=knotd
		echo "AXFR of the signed zone from $who (kdig): $(ms "$s" "$e") ms, $n RRs"
	done
fi

rss() { # RSS in MB of a server's processes: anonymous + file (file pages are reclaimable)
	for p in $(procs "$1"); do cat "/proc/$p/status"; done |
		awk '/^RssAnon/ {a+=$2} /^RssFile/ {f+=$2} END {printf "%.1f+%.1f", a/1024, f/1024}'
}

# A server's processes: all whose command line names its files in $dir
# (nsd forks its server and xfrd processes).
procs() { pgrep -f "$dir/$1" | tr '\n' ' '; }

ticks() { # busy ticks so far of the server's core(s) (nothing else runs there)
	awk -v want="$server_cpus" 'BEGIN {n = split(want, r, "-"); lo = r[1]; hi = (n > 1 ? r[2] : r[1])}
		$1 ~ /^cpu[0-9]+$/ {c = substr($1, 4) + 0; if (c >= lo && c <= hi) s += $2 + $3 + $4 + $7 + $8}
		END {print s + 0}' /proc/stat
}

pticks() { # CPU ticks (user + system) so far of a server's own processes, all threads
	# (utime and stime are the 12th and 13th fields after the command name,
	# which may hold spaces: nsd names its processes "nsd: server 1")
	for p in $(procs "$1"); do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null; done | awk '{s += $12 + $13} END {print s + 0}'
}

run_perf() { # name port round procs-pattern
	c0=$(ticks); p0=$(pticks "$4")
	# shellcheck disable=SC2086
	out=$(taskset -c "$client_cpu" /usr/bin/time -f "CPU %P" dnsperf $dnsperf_do -s 127.0.0.1 -p "$2" -d "$queries" \
		-l "$SECONDS_PER_RUN" -c 16 -q 1000 -T 1 2>&1)
	qps=$(echo "$out" | awk '/Queries per second/ {print $4}')
	lost=$(echo "$out" | awk '/Queries lost/ {print $3}')
	cpu=$(echo "$out" | awk '/^CPU/ {print $2}')
	c1=$(ticks); p1=$(pticks "$4")
	scpu=$(awk -v t=$((c1 - c0)) -v s="$SECONDS_PER_RUN" -v hz="$(getconf CLK_TCK)" -v w="$WORKERS" 'BEGIN {printf "%.0f", 100 * t / hz / s / w}')
	per=$(awk -v q="$qps" -v c="$scpu" 'BEGIN {if (c > 0) printf "%.0f", q * 100 / c; else print 0}')
	# The server's own CPU time (user + system of its processes): without
	# the softirq and idle wake-ups that the core's busy time also counts,
	# and the one figure that stays the server's when it shares a core
	# with dnsperf (WORKERS=2 on two cores).
	pus=$(awk -v t=$((p1 - p0)) -v hz="$(getconf CLK_TCK)" -v q="$qps" -v s="$SECONDS_PER_RUN" 'BEGIN {if (q > 0) printf "%.2f", t / hz * 1e6 / (q * s); else print 0}')
	echo "$1 round $3: $qps QPS (lost $lost; server core busy $scpu%, so $per QPS per busy core; server processes $pus us CPU per query; dnsperf CPU $cpu)"
	echo "$1 $qps $per ${cpu%\%} $pus" >> "$dir/results"
}

# Start when the servers' core is idle: a peer that has just loaded a
# large zone may still be working on it (knotd and nsd at 1 000 000 names
# keep core 0 busy for seconds after they first answer), and that would be
# counted against whoever is measured first.
n=0
while :; do
	c0=$(ticks); sleep 1; c1=$(ticks)
	[ $((c1 - c0)) -le $(($(getconf CLK_TCK) / 20)) ] && break
	n=$((n + 1)); [ $n -gt 120 ] && { echo "core(s) $server_cpus never went idle"; break; }
done
[ $n -gt 0 ] && echo "waited $n s for core(s) $server_cpus to go idle"

for r in $(seq "$ROUNDS"); do
	run_perf dms "$dms_port" "$r" dms.db
	run_perf knot "$knot_port" "$r" knot/knot.conf
	run_perf nsd "$nsd_port" "$r" nsd/nsd.conf
	run_perf floor "$floor_port" "$r" floor
done

median() { grep "^$1 " "$dir/results" | awk -v f="$2" '{print $f}' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
d=$(median dms 2); k=$(median knot 2); n=$(median nsd 2)
dc=$(median dms 3); kc=$(median knot 3); nc=$(median nsd 3)
f=$(median floor 2); fc=$(median floor 3)
echo
echo "server  median QPS  QPS/busy core  RSS MB anon+file  dnsperf CPU   ($WORKERS worker(s) on core(s) $server_cpus, dnsperf on core $client_cpu, $ROUNDS x ${SECONDS_PER_RUN}s, signed=$SIGNED, $MIX)"
printf "dms     %10.0f  %13.0f  %16s  %10s%%\n" "$d" "$dc" "$(rss dms.db)" "$(median dms 4)"
printf "knotd   %10.0f  %13.0f  %16s  %10s%%\n" "$k" "$kc" "$(rss knot/knot.conf)" "$(median knot 4)"
printf "nsd     %10.0f  %13.0f  %16s  %10s%%\n" "$n" "$nc" "$(rss nsd/nsd.conf)" "$(median nsd 4)"
printf "floor   %10.0f  %13.0f  %16s  %10s%%\n" "$f" "$fc" "$(rss floor)" "$(median floor 4)"
awk -v d="$dc" -v k="$kc" -v n="$nc" -v f="$fc" 'BEGIN {printf "CPU per query, us of one core: floor %.2f  dms %.2f  knotd %.2f  nsd %.2f\n", 1e6/f, 1e6/d, 1e6/k, 1e6/n
	printf "CPU per query / floor:         dms %.2f  knotd %.2f  nsd %.2f\n", f/d, f/k, f/n}' 
awk -v d="$(median dms 5)" -v k="$(median knot 5)" -v n="$(median nsd 5)" -v f="$(median floor 5)" 'BEGIN {printf "CPU per query of the server processes alone (user + system), us: floor %.2f  dms %.2f  knotd %.2f  nsd %.2f\n", f, d, k, n}'
if [ "$WORKERS" -gt 1 ]; then
	echo "(with $WORKERS workers dnsperf shares core $client_cpu with the servers: the cores' CPU per query includes dnsperf's, the processes' figure does not)"
fi
awk -v d="$d" -v k="$k" -v n="$n" 'BEGIN {printf "QPS:           dms/knot %.2f   dms/nsd %.2f\n", d/k, d/n}'
awk -v d="$dc" -v k="$kc" -v n="$nc" 'BEGIN {printf "QPS/busy core: dms/knot %.2f   dms/nsd %.2f\n", d/k, d/n}'
echo "(when dnsperf's CPU is near 100%, the client is the limit and QPS/busy core compares the servers)"
