package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"dmsdns.org/dms/authserver"
	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// Metrics are dms's Prometheus metrics, on their own registry. Labels are
// bounded: no zone label (100 000 zones must not be 100 000 series), qtype
// from an allow-list plus "other".
type Metrics struct {
	Registry *prometheus.Registry
	// health are more checks of /healthz (the cluster's log).
	health []func() error

	queries  [2][len(metricQtypes) + 1][len(metricRcodes) + 1]prometheus.Counter
	requests [2][len(metricOpcodes) + 1][len(metricRcodes) + len(metricTSIGErrors) + 1]prometheus.Counter
	// requestsVec holds the requests children (made up front, above).
	requestsVec *prometheus.CounterVec
	denied      prometheus.Counter // dms_dns_refused_total{reason="allow_query"}
	truncated   prometheus.Counter
	commits     prometheus.Counter
	// shards count the answered queries, one per UDP worker (Observe):
	// counters shared by workers on two cores cost each query a cache
	// line moving between them (BenchmarkObserveParallel: 43 ns a query
	// on one core, 200 ns of CPU on two). They are added into the
	// counters above when the registry is gathered (Gatherer), and the
	// duration histogram is read from them.
	shards [obsShards]obsShard
	// flushMu makes one flush at a time (two scrapes at once).
	flushMu sync.Mutex

	xfr         *prometheus.CounterVec
	xfrDuration *prometheus.HistogramVec
	notify      *prometheus.CounterVec
}

var (
	metricQtypes = [...]uint16{dns.TypeA, dns.TypeAAAA, dns.TypeNS, dns.TypeSOA, dns.TypeMX, dns.TypeTXT, dns.TypeCNAME,
		dns.TypePTR, dns.TypeSRV, dns.TypeCAA, dns.TypeDS, dns.TypeDNSKEY, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeANY,
		dns.TypeAXFR, dns.TypeIXFR}
	metricRcodes = [...]int{dns.RcodeSuccess, dns.RcodeFormatError, dns.RcodeServerFailure, dns.RcodeNameError,
		dns.RcodeNotImplemented, dns.RcodeRefused, dns.RcodeYXDomain, dns.RcodeBadVers}
	metricProtos = []string{"udp", "tcp"}
	// metricOpcodes and metricTSIGErrors label dms_dns_requests_total:
	// who knocks, and how they are turned away.
	metricOpcodes    = [...]int{dns.OpcodeQuery, dns.OpcodeNotify, dns.OpcodeUpdate}
	metricTSIGErrors = [...]uint16{dns.RcodeBadSig, dns.RcodeBadKey, dns.RcodeBadTime, dns.RcodeBadTrunc}
)

// requestLabel is the index of an answer's response code among
// metricRcodes, then metricTSIGErrors (a TSIG error tells more than its
// NOTAUTH), then "other".
func requestLabel(rcode int, tsigErr uint16) int {
	if tsigErr != 0 {
		for i, x := range metricTSIGErrors {
			if x == tsigErr {
				return len(metricRcodes) + i
			}
		}
		return len(metricRcodes) + len(metricTSIGErrors)
	}
	if i := rcodeIndex(rcode); i < len(metricRcodes) {
		return i
	}
	return len(metricRcodes) + len(metricTSIGErrors) // "other", past the TSIG errors
}

// rcodeName names a response code as an answer's header carries it: 16
// is EDNS's BADVERS there (RFC 6891), BADSIG only as a TSIG error, but
// miekg/dns names the number BADSIG.
func rcodeName(rc int) string {
	if rc == dns.RcodeBadVers {
		return "BADVERS"
	}
	return dns.RcodeToString[rc]
}

func opcodeIndex(op int) int {
	for i, x := range metricOpcodes {
		if x == op {
			return i
		}
	}
	return len(metricOpcodes)
}

func qtypeIndex(t uint16) int {
	for i, x := range metricQtypes {
		if x == t {
			return i
		}
	}
	return len(metricQtypes)
}

func rcodeIndex(rc int) int {
	for i, x := range metricRcodes {
		if x == rc {
			return i
		}
	}
	return len(metricRcodes)
}

// WatchServer exports srv's counts read at scrape time: the response rate
// limiter's, panics recovered, UDP updates dropped with their queue full,
// TCP connections closed over their client's share or the cap.
func (m *Metrics) WatchServer(srv *authserver.Server, svc *Service) {
	m.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dms_panics_total",
			Help: "Panics recovered while handling requests (DNS, control socket, HTTP API; logged with their stack); the server went on.",
		}, func() float64 { return float64(srv.Panics() + svc.Panics()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dms_dns_updates_dropped_total",
			Help: "UDP dynamic updates dropped because the update queue was full.",
		}, func() float64 { return float64(srv.UpdatesDropped()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "dms_dns_tcp_rejected_total",
			Help: "TCP connections closed at once: their client held its share (--max-tcp-per-client) or all slots were taken (--max-tcp).",
		}, func() float64 { return float64(srv.TCPRejected()) }),
	)
	for _, c := range []struct {
		action string
		get    func(authserver.RRLStats) uint64
	}{
		{"slipped", func(s authserver.RRLStats) uint64 { return s.Slipped }},
		{"dropped", func(s authserver.RRLStats) uint64 { return s.Dropped }},
		{"log_only", func(s authserver.RRLStats) uint64 { return s.LogOnly }},
	} {
		m.Registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "dms_rrl_limited_total",
			Help:        "UDP responses over the rate limit (rrl_responses_per_second), by what became of them: slipped (sent truncated), dropped, or sent all the same (log_only).",
			ConstLabels: prometheus.Labels{"action": c.action},
		}, func() float64 { return float64(c.get(srv.RRLStats())) }))
	}
}

// NewMetrics registers dms's metrics, the Go and process collectors, and
// the store's gauges (read at scrape time) on a new registry.
func NewMetrics(db *zonedb.DB) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{Registry: reg}
	qv := m.queryCounters()
	rv := m.requestCounters()
	// Why queries were refused, beside their rcode: one reason so far, a
	// fixed set of them (no zone or client label).
	refused := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dms_dns_refused_total",
		Help: "DNS queries refused, by reason (allow_query: the client is outside the allow-query of the zone's server groups).",
	}, []string{"reason"})
	m.denied = refused.WithLabelValues("allow_query")
	m.truncated = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dms_dns_responses_truncated_total",
		Help: "UDP answers sent with TC set because they did not fit.",
	})
	m.commits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "dms_commits_total",
		Help: "Commits to the store (each may change several zones).",
	})
	m.transferCounters()
	reg.MustRegister(qv, rv, refused, &durationCollector{m}, m.truncated, m.commits, m.xfr, m.xfrDuration, m.notify, &storeCollector{db: db},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	db.Subscribe(func(zonedb.Event) { m.commits.Inc() })
	return m
}

// queryCounters makes dms_dns_queries_total with every child up front:
// the query path only increments.
func (m *Metrics) queryCounters() *prometheus.CounterVec {
	qv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dms_dns_queries_total",
		Help: "DNS queries answered, by transport, query type and response code.",
	}, []string{"proto", "qtype", "rcode"})
	for p, pn := range metricProtos {
		for q := range len(metricQtypes) + 1 {
			qn := "other"
			if q < len(metricQtypes) {
				qn = dns.TypeToString[metricQtypes[q]]
			}
			for r := range len(metricRcodes) + 1 {
				rn := "other"
				if r < len(metricRcodes) {
					rn = rcodeName(metricRcodes[r])
				}
				m.queries[p][q][r] = qv.WithLabelValues(pn, qn, rn)
			}
		}
	}
	return qv
}

// requestCounters makes dms_dns_requests_total, every child up front.
func (m *Metrics) requestCounters() *prometheus.CounterVec {
	rv := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dms_dns_requests_total",
		Help: "DNS requests of every kind (queries, transfers, NOTIFY, UPDATE), by opcode, transport and response code (or TSIG error: BADSIG, BADKEY, BADTIME).",
	}, []string{"opcode", "proto", "rcode"})
	m.requestsVec = rv
	for p, pn := range metricProtos {
		for o := range len(metricOpcodes) + 1 {
			on := "other"
			if o < len(metricOpcodes) {
				on = dns.OpcodeToString[metricOpcodes[o]]
			}
			for r := range len(metricRcodes) + len(metricTSIGErrors) + 1 {
				rn := "other"
				switch {
				case r < len(metricRcodes):
					rn = rcodeName(metricRcodes[r])
				case r < len(metricRcodes)+len(metricTSIGErrors):
					rn = dns.RcodeToString[int(metricTSIGErrors[r-len(metricRcodes)])] // TSIG's names: BADSIG...
				}
				m.requests[p][o][r] = rv.WithLabelValues(on, pn, rn)
			}
		}
	}
	return rv
}

// transferCounters makes the transfer and NOTIFY metrics, with every
// label value shown from the start.
func (m *Metrics) transferCounters() {
	m.xfr = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dms_xfr_total",
		Help: "Zone transfer requests, by type (AXFR, IXFR, IXFR-AXFR, IXFR-UDP) and result.",
	}, []string{"type", "result"})
	m.xfrDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "dms_xfr_duration_seconds",
		Help:    "Time to answer a zone transfer request, by type.",
		Buckets: []float64{1e-4, 1e-3, 0.01, 0.1, 0.5, 1, 5, 30, 120},
	}, []string{"type"})
	m.notify = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "dms_notify_total",
		Help: "NOTIFY messages sent, by result (ok, refused, retry, failed).",
	}, []string{"result"})
	for _, t := range []string{"AXFR", "IXFR", "IXFR-AXFR", "IXFR-UDP"} {
		m.xfrDuration.WithLabelValues(t)
		for _, r := range []xfr.Result{xfr.ResultOK, xfr.ResultRefused, xfr.ResultNotAuth, xfr.ResultFormErr, xfr.ResultUpToDate, xfr.ResultFailed} {
			m.xfr.WithLabelValues(t, string(r))
		}
	}
	for _, r := range []xfr.NotifyResult{xfr.NotifyOK, xfr.NotifyRefused, xfr.NotifyRetry, xfr.NotifyFailed} {
		m.notify.WithLabelValues(string(r))
	}
}

// Observe counts one answered query (authserver.Options.Observe) in the
// shard of the worker that answered it.
func (m *Metrics) Observe(o authserver.Observation) {
	sh := &m.shards[uint(o.Worker)%obsShards]
	sh.requests[o.Proto][opcodeIndex(o.Opcode)][requestLabel(o.Rcode, o.TSIGError)].Add(1)
	if o.Opcode == dns.OpcodeQuery {
		sh.queries[o.Proto][qtypeIndex(o.Qtype)][rcodeIndex(o.Rcode)].Add(1)
	}
	if o.Denied {
		sh.denied.Add(1)
	}
	if o.Truncated {
		sh.truncated.Add(1)
	}
	d := o.Duration
	i := 0
	for i < len(durationBounds) && d > durationBounds[i] {
		i++
	}
	sh.buckets[i].Add(1)
	sh.sum.Add(uint64(max(d, 0)))
}

// obsShards is how many shards the query counters have: workers beyond
// share them (modulo), which is correct, only slower.
const obsShards = 16

// obsShard is one worker's query counts. The counters of one shard are
// written by one worker (uncontended atomics); the padding keeps two
// shards off one cache line.
type obsShard struct {
	_         [64]byte
	queries   [2][len(metricQtypes) + 1][len(metricRcodes) + 1]atomic.Uint64
	requests  [2][len(metricOpcodes) + 1][len(metricRcodes) + len(metricTSIGErrors) + 1]atomic.Uint64
	denied    atomic.Uint64
	truncated atomic.Uint64
	// buckets count durations up to each of durationBounds, and above
	// the last; sum is theirs in nanoseconds.
	buckets [len(durationBounds) + 1]atomic.Uint64
	sum     atomic.Uint64
	_       [64]byte
}

// durationBounds are dms_dns_query_duration_seconds's buckets.
var durationBounds = [...]time.Duration{5 * time.Microsecond, 10 * time.Microsecond, 25 * time.Microsecond, 50 * time.Microsecond,
	100 * time.Microsecond, 250 * time.Microsecond, 500 * time.Microsecond, time.Millisecond, 5 * time.Millisecond,
	25 * time.Millisecond, 100 * time.Millisecond}

// flush adds the shards' counts since the last flush into the counters.
func (m *Metrics) flush() {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	add := func(c prometheus.Counter, n uint64) {
		if n != 0 {
			c.Add(float64(n))
		}
	}
	for i := range m.shards {
		sh := &m.shards[i]
		for p := range sh.queries {
			for q := range sh.queries[p] {
				for r := range sh.queries[p][q] {
					add(m.queries[p][q][r], sh.queries[p][q][r].Swap(0))
				}
			}
			for o := range sh.requests[p] {
				for r := range sh.requests[p][o] {
					add(m.requests[p][o][r], sh.requests[p][o][r].Swap(0))
				}
			}
		}
		add(m.denied, sh.denied.Swap(0))
		add(m.truncated, sh.truncated.Swap(0))
	}
}

// Gatherer is the registry, with the query counters brought up to date
// first: what /metrics serves.
func (m *Metrics) Gatherer() prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		m.flush()
		return m.Registry.Gather()
	})
}

// durationCollector exports dms_dns_query_duration_seconds from the
// shards.
type durationCollector struct{ m *Metrics }

var descDuration = prometheus.NewDesc("dms_dns_query_duration_seconds", "Time from reading a query to having its answer packed.", nil, nil)

func (c *durationCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descDuration }

func (c *durationCollector) Collect(ch chan<- prometheus.Metric) {
	var counts [len(durationBounds) + 1]uint64
	var sum uint64
	for i := range c.m.shards {
		sh := &c.m.shards[i]
		for b := range counts {
			counts[b] += sh.buckets[b].Load()
		}
		sum += sh.sum.Load()
	}
	buckets := make(map[float64]uint64, len(durationBounds))
	total := uint64(0)
	for b, bound := range durationBounds {
		total += counts[b]
		buckets[bound.Seconds()] = total
	}
	total += counts[len(durationBounds)]
	ch <- prometheus.MustNewConstHistogram(descDuration, total, time.Duration(sum).Seconds(), buckets)
}

// WatchSecondaries exports the secondaries' states from mon at scrape
// time: dms_secondary_state{server,state} (1 for the current state) and
// dms_secondary_serial_lag{server}. A server per series is bounded by the
// few dozen secondaries an SG has.
func (m *Metrics) WatchSecondaries(mon *xfr.Monitor) {
	m.Registry.MustRegister(&secondaryCollector{mon: mon})
}

type secondaryCollector struct{ mon *xfr.Monitor }

var (
	descSecState = prometheus.NewDesc("dms_secondary_state", "State of each secondary server (1 for its current state).", []string{"server", "state"}, nil)
	descSecLag   = prometheus.NewDesc("dms_secondary_serial_lag", "Zones checked in the last poll on which the secondary is behind the master.", []string{"server"}, nil)
	secStates    = []xfr.ServerState{xfr.StateOK, xfr.StateLagging, xfr.StateRetry, xfr.StateBroken, xfr.StateDisabled}
)

func (c *secondaryCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSecState
	ch <- descSecLag
}

func (c *secondaryCollector) Collect(ch chan<- prometheus.Metric) {
	for _, st := range c.mon.Status() {
		for _, s := range secStates {
			v := 0.0
			if st.State == s {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(descSecState, prometheus.GaugeValue, v, st.Name, string(s))
		}
		ch <- prometheus.MustNewConstMetric(descSecLag, prometheus.GaugeValue, float64(st.SerialLag), st.Name)
	}
}

// WatchDNSSEC exports the signer's and the re-signer's figures:
// dms_dnssec_signatures_total, dms_dnssec_resign_pending,
// dms_dnssec_earliest_expiry_timestamp_seconds (the alert: the soonest RRSIG
// expiry over all zones) and dms_dnssec_keys_awaiting_ds.
func (m *Metrics) WatchDNSSEC(signer *dnssec.Signer, r *dnssec.Resigner) {
	m.Registry.MustRegister(&dnssecCollector{signer: signer, r: r})
}

type dnssecCollector struct {
	signer *dnssec.Signer
	r      *dnssec.Resigner
}

var (
	descSigs     = prometheus.NewDesc("dms_dnssec_signatures_total", "RRSIGs made since start (at commit and by the re-signer).", nil, nil)
	descPending  = prometheus.NewDesc("dms_dnssec_resign_pending", "Signed zones whose signatures were due for renewal at the last check.", nil, nil)
	descEarliest = prometheus.NewDesc("dms_dnssec_earliest_expiry_timestamp_seconds", "The soonest RRSIG expiry over all signed zones (Unix time); alert when it comes near.", nil, nil)
	descAwaiting = prometheus.NewDesc("dms_dnssec_keys_awaiting_ds", "KSKs and CSKs whose DS at the parent is not confirmed (dms dnssec ds-seen).", nil, nil)
)

func (c *dnssecCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descSigs
	ch <- descPending
	ch <- descEarliest
	ch <- descAwaiting
}

func (c *dnssecCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(descSigs, prometheus.CounterValue, float64(c.signer.Signatures()))
	st := c.r.Stats()
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(st.Pending))
	if !st.Earliest.IsZero() {
		ch <- prometheus.MustNewConstMetric(descEarliest, prometheus.GaugeValue, float64(st.Earliest.Unix()))
	}
	ch <- prometheus.MustNewConstMetric(descAwaiting, prometheus.GaugeValue, float64(st.AwaitingDS))
}

// ObserveTransfer counts one transfer request (xfr.Server.Observe).
func (m *Metrics) ObserveTransfer(t xfr.Transfer) {
	m.xfr.WithLabelValues(t.Type, string(t.Result)).Inc()
	m.xfrDuration.WithLabelValues(t.Type).Observe(t.Duration.Seconds())
}

// ObserveNotify counts one NOTIFY attempt (xfr.NotifyOptions.OnResult).
func (m *Metrics) ObserveNotify(ev xfr.NotifyEvent) {
	m.notify.WithLabelValues(string(ev.Result)).Inc()
}

// storeCollector reads the store's gauges when scraped.
type storeCollector struct{ db *zonedb.DB }

var (
	descZones = prometheus.NewDesc("dms_zones", "Zones in the store, by state.", []string{"state"}, nil)
	descSize  = prometheus.NewDesc("dms_store_size_bytes", "Size of the store file.", nil, nil)
	descPageW = prometheus.NewDesc("dms_store_page_writes_total", "Pages written to the store file since start.", nil, nil)
	descIxN   = prometheus.NewDesc("dms_name_index_names", "Names in the name index (0: none, or being built).", nil, nil)
	descIxB   = prometheus.NewDesc("dms_name_index_bytes", "Memory the name index holds (0: none, or being built).", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descZones
	ch <- descSize
	ch <- descPageW
	ch <- descIxN
	ch <- descIxB
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]int{"PUBLISHED": 0, "DELETED": 0, "DISABLED": 0}
	_ = c.db.View(func(v *zonedb.View) error {
		for _, st := range v.ZoneStates() {
			counts[st]++
		}
		return nil
	})
	for st, n := range counts {
		ch <- prometheus.MustNewConstMetric(descZones, prometheus.GaugeValue, float64(n), st)
	}
	ch <- prometheus.MustNewConstMetric(descSize, prometheus.GaugeValue, float64(c.db.Size()))
	ch <- prometheus.MustNewConstMetric(descPageW, prometheus.CounterValue, float64(c.db.PageWrites()))
	ix, _ := c.db.NodeIndexStats()
	ch <- prometheus.MustNewConstMetric(descIxN, prometheus.GaugeValue, float64(ix.Names))
	ch <- prometheus.MustNewConstMetric(descIxB, prometheus.GaugeValue, float64(ix.Bytes))
}

// ServeMetrics serves /metrics and /healthz on addr until ctx ends. It
// returns once listening (errors after that are logged by the caller's
// http.Server ErrorLog).
func ServeMetrics(ctx context.Context, addr string, m *Metrics, db *zonedb.DB) (string, error) {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(m.Gatherer(), promhttp.HandlerOpts{Registry: m.Registry}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := db.View(func(v *zonedb.View) error { return nil }); err != nil {
			http.Error(w, "store: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		for _, h := range m.health {
			if err := h(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		w.Write([]byte("ok\n"))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err
		}
	}()
	return ln.Addr().String(), nil
}
