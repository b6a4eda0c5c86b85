package authserver

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"

	"dmsdns.org/dms/zonedb"
)

// Options configure a Server.
type Options struct {
	// Listen are the addresses to serve on, UDP and TCP each.
	Listen []string
	// Workers is the number of UDP sockets (SO_REUSEPORT) and answering
	// goroutines per address; 0 means the number of cores.
	Workers int
	// TCPIdle closes a TCP connection that sends nothing for this long
	// (RFC 7766 section 6.2.3); 0 means 10 s.
	TCPIdle time.Duration
	// MaxTCP caps concurrent TCP connections; 0 means 1024.
	MaxTCP int
	// MaxTCPPerClient caps the TCP connections of one client (an IPv4
	// address, an IPv6 /64); 0 means 32.
	MaxTCPPerClient int
	// AnswerCacheBytes is the bound of each UDP worker's answer cache
	// (cache.go); 0 means no answer cache, the default: the wire-form path
	// answers as cheaply on this machine (issue 20's figures), without
	// the memory.
	AnswerCacheBytes int
	// Config is the answering configuration.
	Config Config
	// Observe, when set, is told about every answered query.
	Observe func(Observation)
	// Transfer, when set, answers AXFR and IXFR requests: it writes the
	// packed answer messages through send, which signs them (when the
	// request was signed with key) and writes them out. Without it
	// transfers are refused.
	Transfer func(req *dns.Msg, client netip.AddrPort, tcp bool, key *zonedb.TSIGKey, send func([]byte) error)
	// Notify, when set, is told about every NOTIFY received (which dms, as
	// the primary, refuses) with its client and whether it was signed.
	Notify func(req *dns.Msg, client netip.AddrPort, signed bool)
	// Update, when set, answers a dynamic update (RFC 2136) signed with key
	// (nil when unsigned). A signed one may take a commit's time: over UDP
	// it waits in a bounded pool while the worker goes on answering
	// queries. An unsigned one must be answered at once, without a commit
	// (the worker waits for it: anyone can send them). Without Update,
	// updates are refused.
	Update func(req *dns.Msg, client netip.AddrPort, key *zonedb.TSIGKey) *dns.Msg
}

// Observation is what metrics learn about one query.
type Observation struct {
	Proto Proto
	// Opcode is the request's (QUERY, NOTIFY, UPDATE...).
	Opcode int
	Qtype  uint16
	Rcode  int
	// TSIGError is the TSIG error of the answer (BADSIG, BADKEY,
	// BADTIME...; RFC 8945 section 5.2), 0 for none.
	TSIGError uint16
	Truncated bool
	// Denied: REFUSED because the client is outside the allow-query of
	// the zone's server groups (access.go).
	Denied   bool
	Duration time.Duration
	// Worker is the UDP worker that answered (1, 2...), 0 for TCP and
	// the rest: metrics keep each worker's counts apart, so that workers
	// on different cores share no counter.
	Worker int
}

// Server answers DNS over UDP and TCP from the store.
type Server struct {
	db   *zonedb.DB
	eng  *Engine
	opts Options
	log  *slog.Logger

	mu    sync.Mutex
	udp   []udpConn
	tcp   []net.Listener
	addrs []string
	// closing is set by Close: the UDP loops end.
	closing atomic.Bool
	wg      sync.WaitGroup
	conns   chan struct{} // TCP connection slots

	// rrl limits UDP responses (nil: off); SetRRL swaps it while serving.
	rrl       atomic.Pointer[RRL]
	rrlCounts rrlCounts

	panics         atomic.Uint64
	updates        chan updateJob
	stop           chan struct{} // closed by Close: the update workers end
	updatesDropped atomic.Uint64
	tcpSlots       tcpSlots
	tcpRejected    atomic.Uint64
}

// SetRRL turns response rate limiting on with r, or off with nil; it may
// be called while the server runs. The counts (RRLStats) go on across
// limiters.
func (s *Server) SetRRL(r *RRL) {
	if r != nil {
		r.counts = &s.rrlCounts
	}
	s.rrl.Store(r)
}

// RRLStats are the rate limiter's counts since the server started.
func (s *Server) RRLStats() RRLStats { return s.rrlCounts.stats() }

// RRL is the response rate limiter in force, or nil.
func (s *Server) RRL() *RRL { return s.rrl.Load() }

// NewServer prepares a server; Start opens the sockets.
func NewServer(db *zonedb.DB, opts Options, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if opts.TCPIdle <= 0 {
		opts.TCPIdle = 10 * time.Second
	}
	if opts.MaxTCP <= 0 {
		opts.MaxTCP = 1024
	}
	if opts.MaxTCPPerClient <= 0 {
		opts.MaxTCPPerClient = 32
	}
	if len(opts.Config.CookieSecret) == 0 {
		opts.Config.CookieSecret = make([]byte, 16)
		_, _ = rand.Read(opts.Config.CookieSecret)
	}
	return &Server{db: db, eng: NewEngine(opts.Config, log), opts: opts, log: log.With("component", "authserver"),
		conns: make(chan struct{}, opts.MaxTCP), tcpSlots: tcpSlots{max: opts.MaxTCPPerClient}}
}

func reusePort(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

// probeFree fails when addr's port is taken, by binding it once without
// SO_REUSEPORT.
func probeFree(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	if port == "0" {
		return nil
	}
	fam := family(addr)
	pc, err := net.ListenPacket("udp"+fam, net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("listen udp %s: %w%s", addr, err, bindHint(err))
	}
	pc.Close()
	ln, err := net.Listen("tcp"+fam, addr)
	if err != nil {
		return fmt.Errorf("listen tcp %s: %w%s", addr, err, bindHint(err))
	}
	ln.Close()
	return nil
}

// bindHint says what a failed bind most likely means.
func bindHint(err error) string {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return " (is another nameserver running there?)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return " (no interface of this machine has that address)"
	case errors.Is(err, syscall.EACCES):
		return " (ports below 1024 need root or CAP_NET_BIND_SERVICE)"
	}
	return ""
}

// family is "4" or "6" for an address literal, "" for a host name. An
// IPv6 address, [::] included, then listens on IPv6 only (as BIND's
// listen-on-v6), so [::]:53 and 0.0.0.0:53 can both be given.
func family(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case err != nil:
		return ""
	case ip.Is4():
		return "4"
	}
	return "6"
}

// bindAddr opens the TCP listener and the workers' UDP sockets of one
// address. For port 0 the TCP listener picks the port and the UDP sockets
// join it; a port taken for UDP meanwhile means trying another.
func bindAddr(ctx context.Context, lc net.ListenConfig, addr string, workers int) ([]udpConn, net.Listener, error) {
	_, port, _ := net.SplitHostPort(addr)
	tries := 1
	if port == "0" {
		tries = 20
	}
	var lastErr error
	fam := family(addr)
	for range tries {
		ln, err := lc.Listen(ctx, "tcp"+fam, addr)
		if err != nil {
			return nil, nil, fmt.Errorf("listen tcp %s: %w", addr, err)
		}
		bound := ln.Addr().String()
		var udp []udpConn
		for range workers {
			uc, err := listenUDP(ctx, lc, "udp"+fam, bound)
			if err != nil {
				lastErr = fmt.Errorf("listen udp %s: %w", bound, err)
				break
			}
			udp = append(udp, uc)
		}
		if len(udp) == workers {
			return udp, ln, nil
		}
		for _, uc := range udp {
			uc.Close()
		}
		ln.Close()
	}
	return nil, nil, lastErr
}

// Start opens every socket and starts answering. It returns once all
// sockets are open (or the first error, with nothing left open).
func (s *Server) Start(ctx context.Context) error {
	lc := net.ListenConfig{Control: reusePort}
	for _, addr := range s.opts.Listen {
		// SO_REUSEPORT would let a second server of the same user share the
		// port and take half the queries: make sure nobody holds it.
		if err := probeFree(addr); err != nil {
			s.Close()
			return err
		}
		udp, ln, err := bindAddr(ctx, lc, addr, s.opts.Workers)
		if err != nil {
			s.Close()
			return err
		}
		s.mu.Lock()
		s.udp = append(s.udp, udp...)
		s.tcp = append(s.tcp, ln)
		s.addrs = append(s.addrs, ln.Addr().String())
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	reserveProcs(len(s.udp))
	if s.opts.Update != nil {
		s.startUpdates(ctx)
	}
	for i, uc := range s.udp {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveUDP(uc, i+1)
		}()
	}
	for _, ln := range s.tcp {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveTCP(ln)
		}()
	}
	return nil
}

// Addrs are the bound addresses (with the ports chosen for ":0").
func (s *Server) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.addrs...)
}

// Close stops the listeners and waits for the workers.
func (s *Server) Close() error {
	s.mu.Lock()
	s.closing.Store(true)
	for _, uc := range s.udp {
		// A worker asleep in recvmmsg (udp_linux.go) wakes, sees the
		// server closing and lets go of the socket, which Close waits for.
		shutdownUDP(uc)
		uc.Close()
	}
	for _, ln := range s.tcp {
		ln.Close()
	}
	if s.stop != nil {
		close(s.stop)
		s.stop = nil
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// viewHolder keeps one read transaction per worker and renews it when a
// commit lands or it gets old (DESIGN.md "A query": a bbolt transaction
// per query takes a DB-wide lock).
type viewHolder struct {
	db    *zonedb.DB
	v     *zonedb.View
	gen   uint64
	since time.Time
	cache answerCache
	key   []byte
	// sig keeps decoded DNSSEC answer parts for one generation.
	sig *sigCache
	// acl is the allow-query table of the same generation; the cache's
	// entries name its lists.
	acl *queryACL
	// views are the views of the same generation (split horizon); nil or
	// trivial when there is only the default view matching everyone.
	views *zonedb.ViewTable
	// noCache sends every query down the full path (TCP connections, and
	// benchmarks of the full path).
	noCache bool
	// noIndex reads every node from the store's B+tree, not its name
	// index (tests compare the two).
	noIndex bool
	// noAnswerCache leaves the answer cache out only (dms serve
	// --answer-cache-mb 0, and benchmarks of the wire-form path).
	noAnswerCache bool
	// udp is the worker's socket, for answers sent apart from its batch
	// (dynamic updates); nil on TCP.
	udp udpConn
	// worker numbers a UDP worker from 1 (Observation.Worker); 0 on TCP.
	worker int
	// readAt is when the UDP loop's batch was read: the queries in it were
	// read then (one clock reading a batch instead of one a query); zero
	// elsewhere (handle reads the clock).
	readAt time.Time
}

// reply returns a func that sends one answer to client on the worker's
// UDP socket, or nil over TCP.
func (h *viewHolder) reply(client netip.AddrPort) func([]byte) error {
	if h.udp == nil {
		return nil
	}
	uc := h.udp
	return func(b []byte) error {
		_, err := uc.WriteToUDPAddrPort(b, client)
		return err
	}
}

const viewMaxAge = time.Second

func (h *viewHolder) get(now time.Time) (*zonedb.View, error) {
	if h.v != nil && h.gen == h.db.Generation() && now.Sub(h.since) < viewMaxAge {
		return h.v, nil
	}
	h.release()
	gen := h.db.Generation()
	v, err := h.db.BeginView()
	if err != nil {
		return nil, err
	}
	if h.noIndex {
		v.SkipNodeIndex()
	}
	h.v, h.gen, h.since = v, gen, now
	vg := v.Generation()
	if h.sig == nil || h.sig.gen != vg {
		h.sig = newSigCache(vg)
	}
	if h.acl == nil || h.acl.gen != vg {
		// Usually the answer cache has just been emptied for the new
		// generation; but a view may start after a commit and before the
		// generation counter moves, and the cached answers must not be
		// judged by another table's lists.
		h.acl = newQueryACL(v, vg)
		h.cache.drop()
		views, err := v.ViewTable()
		if err != nil {
			h.release()
			return nil, err
		}
		h.views = views
	}
	v.Scratch = h.sig
	return v, nil
}

// clientView is the view of a client at addr whose request is signed
// with key ("": unsigned) by the holder's table: ok false when no view
// matches (the client is refused).
func (h *viewHolder) clientView(addr netip.Addr, key string) (uint16, bool) {
	if h.views.Trivial() {
		return 0, true
	}
	id, _, ok := h.views.Match(addr, key)
	return id, ok
}

// plainView is the worker's view of the store for a plain (unsigned)
// query from acc's client, in the client's view (split horizon), and that
// view's id, with acc judging by this generation's allow-query table; nil
// when the store cannot be read or no view matches the client (the
// general path then answers: SERVFAIL, REFUSED).
func (h *viewHolder) plainView(acc *access, now time.Time) (*zonedb.View, uint16) {
	v, err := h.get(now)
	if err != nil {
		return nil, 0
	}
	id, ok := h.clientView(acc.client, "")
	if !ok {
		return nil, 0
	}
	v.UseView(id)
	acc.acl = h.acl
	return v, id
}

// udpHolder is the viewHolder of UDP worker number worker on uc, with the
// answer cache the options give.
func (s *Server) udpHolder(uc udpConn, worker int) *viewHolder {
	h := &viewHolder{db: s.db, udp: uc, worker: worker, noAnswerCache: s.opts.AnswerCacheBytes <= 0}
	h.cache.max = max(s.opts.AnswerCacheBytes, 0)
	return h
}

func (h *viewHolder) release() {
	if h.v != nil {
		h.v.Close()
		h.v = nil
	}
}

// handle answers one wire-format query; it returns the packed answer
// (appended to out[:0]) or nil to send nothing. Plain queries are answered
// from the worker's cache when it has them.
func (s *Server) handle(h *viewHolder, req *dns.Msg, in, out []byte, proto Proto, client netip.AddrPort, tw *tcpWriter) []byte {
	start := h.readAt
	if start.IsZero() {
		start = time.Now()
	}
	q, key, plain := parsePlain(in, proto, h.key)
	h.key = key // the key's buffer, for the next query
	plain = plain && !h.noCache
	gen := s.db.Generation()
	acc := access{client: client.Addr().Unmap()}
	views := h.views
	if plain {
		// The worker's view of the store in the client's view (split
		// horizon), matched once for the cache and the wire path; nil
		// when the store cannot be read or no view takes the client: the
		// general path answers (SERVFAIL, REFUSED).
		v, viewID := h.plainView(&acc, start)
		plain = v != nil
		if plain {
			views = h.views
			if !h.noAnswerCache {
				// Cached answers are per view (the key ends in its id),
				// and an answer from a private zone goes only to the
				// clients of its list; anyone else takes the full path,
				// which refuses them.
				if !views.Trivial() {
					key = binary.BigEndian.AppendUint16(key, viewID)
					h.key = key
				}
				if e, ok := h.cache.get(gen, key); ok && (e.acl == 0 || h.acl.allows(e.acl, acc.client)) {
					b := fromCache(e, in, q, out)
					if s.opts.Observe != nil {
						s.opts.Observe(Observation{Proto: proto, Qtype: q.qtype, Rcode: e.rcode, Truncated: e.truncated, Duration: time.Since(start), Worker: h.worker})
					}
					return b
				}
			}
			// The common answers straight from the store's wire form
			// (wireanswer.go; a signed NXDOMAIN through denial.go), kept
			// in the cache as the general path's are.
			if b, rcode := s.wire(v, &acc, in, q, key[:q.qEnd-12-4], out); b != nil {
				if !h.noAnswerCache && !acc.nocache && !(q.do && rcode == dns.RcodeNameError) && h.gen == gen {
					h.cache.put(gen, key, cacheEntry{wire: b, rcode: rcode, acl: acc.list})
				}
				if s.opts.Observe != nil {
					s.opts.Observe(Observation{Proto: proto, Qtype: q.qtype, Rcode: rcode, Duration: time.Since(start), Worker: h.worker})
				}
				return b
			}
		}
	}
	var resp *dns.Msg
	var sr *signedRequest
	if err := req.Unpack(in); err != nil {
		resp = formerr(in)
		if resp == nil {
			return nil
		}
	} else {
		v, err := h.get(start)
		// What the denial path noted is of no account: the answer is
		// made again, with this generation's table.
		acc = access{acl: h.acl, client: client.Addr().Unmap()}
		switch {
		case err != nil:
			s.log.Error("store read", "err", err)
			resp = new(dns.Msg)
			resp.SetRcode(req, dns.RcodeServerFailure)
		case req.IsTsig() != nil && !req.Response:
			var errResp *dns.Msg
			if sr, errResp = verifyTSIG(v, req, in, start); errResp != nil {
				tsigErr := "malformed TSIG"
				if et := errResp.IsTsig(); et != nil {
					tsigErr = dns.RcodeToString[int(et.Error)]
				}
				s.log.Warn("TSIG failed", "client", client.String(), "key", req.IsTsig().Hdr.Name, "error", tsigErr, "qname", qname(req))
				b, err := packTSIGError(errResp, sr)
				if err != nil {
					return nil
				}
				s.observe(req, errResp, proto, start)
				return b
			}
		}
		if resp == nil && err == nil {
			// The client's view (split horizon): by address, or by the
			// TSIG key of a signed request.
			keyName := ""
			if sr != nil {
				keyName = sr.key.Name
			}
			if id, ok := h.clientView(acc.client, keyName); ok {
				v.UseView(id)
			} else if !s.special(req) {
				resp = new(dns.Msg)
				resp.SetRcode(req, dns.RcodeRefused)
			}
		}
		if resp == nil && s.special(req) {
			// A transfer reads in its own transaction, and may last: hold
			// no other meanwhile (a remap would wait on it).
			h.release()
			return s.handleSpecial(req, proto, client, sr, tw, h.reply(client), start)
		}
		if resp == nil {
			resp = s.answer(v, req, proto, &acc)
			if resp != nil && resp.Rcode == dns.RcodeRefused && req.Opcode == dns.OpcodeQuery && len(req.Question) == 1 {
				if acc.refused != 0 {
					resp = s.memberAnswer(v, req, resp, proto, &acc, sr)
				} else {
					resp = s.catalogAnswer(v, req, resp, proto, &acc, sr)
				}
			}
		}
		if resp == nil {
			return nil
		}
	}
	b, err := resp.PackBuffer(out[:cap(out)])
	if err == nil && sr != nil {
		var w *wireSigner
		if w, err = newWireSigner(sr.key); err == nil {
			b, _, err = w.sign(b, sr.mac, false, start)
		}
	}
	if err != nil {
		s.log.Error("pack answer", "err", err, "qname", qname(req))
		return nil
	}
	// REFUSED is not cached, nor what only this client may see (an
	// answer to a zone's server, a CNAME chain cut short by allow-query);
	// an answer from a private zone is kept for the clients of its list.
	// Nor is a signed NXDOMAIN: random names of a flood would fill the
	// cache with answers of a kilobyte that never come again (their proofs
	// are reused from the worker's DNSSEC cache instead).
	if plain && sr == nil && resp.Rcode != dns.RcodeServerFailure && resp.Rcode != dns.RcodeRefused && !acc.nocache &&
		!(q.do && resp.Rcode == dns.RcodeNameError) && h.gen == gen && h.views == views && !h.noAnswerCache {
		h.cache.put(gen, key, cacheEntry{wire: b, rcode: resp.Rcode, truncated: resp.Truncated, acl: acc.list})
	}
	s.observeDenied(req, resp, proto, start, acc.denied(resp), h.worker)
	return b
}

func (s *Server) observe(req, resp *dns.Msg, proto Proto, start time.Time) {
	s.observeDenied(req, resp, proto, start, false, 0)
}

// observeDenied is observe, denied telling an allow-query refusal.
func (s *Server) observeDenied(req, resp *dns.Msg, proto Proto, start time.Time, denied bool, worker int) {
	if s.opts.Observe == nil {
		return
	}
	var qt uint16
	if len(resp.Question) > 0 {
		qt = resp.Question[0].Qtype
	} else if len(req.Question) > 0 {
		qt = req.Question[0].Qtype
	}
	o := Observation{Proto: proto, Opcode: req.Opcode, Qtype: qt, Rcode: resp.Rcode, Truncated: resp.Truncated, Denied: denied, Duration: time.Since(start), Worker: worker}
	if t := resp.IsTsig(); t != nil {
		o.TSIGError = t.Error
	}
	s.opts.Observe(o)
}

// memberAnswer answers a query its zone's allow-query refused when the
// client may transfer the zone (a server of its SGs, with its TSIG key
// when it has one, or an xfr_allow host): the SG's secondaries poll the
// zone's SOA here (RFC 1034 section 4.3.5) and may read all of it by
// AXFR anyway. Others stay refused at the cost of a map lookup and the
// xfr_allow list: a flood of refused queries must not cost more than
// answers. The answer is this client's: never cached.
func (s *Server) memberAnswer(v *zonedb.View, req, refused *dns.Msg, proto Proto, acc *access, sr *signedRequest) *dns.Msg {
	if !acc.acl.peer(v, acc.client) && !v.XfrAllowed(acc.client) {
		return refused
	}
	z, err := v.ZoneByID(acc.refused)
	if err != nil {
		return refused
	}
	keyName := ""
	if sr != nil {
		keyName = sr.key.Name
	}
	if ok, _ := v.TransferAllowed(z, acc.client, keyName); !ok {
		return refused
	}
	acc.exempt, acc.refused, acc.nocache = z.ID, 0, true
	if resp := s.answer(v, req, proto, acc); resp != nil {
		return resp
	}
	return refused
}

// catalogAnswer answers a query refused because its name is in a catalog
// zone (RFC 9432): the zone's SG servers, which poll its SOA, may read it
// like they may transfer it; everyone else stays refused (the catalog lists
// every zone of the SG).
func (s *Server) catalogAnswer(v *zonedb.View, req, refused *dns.Msg, proto Proto, acc *access, sr *signedRequest) *dns.Msg {
	// The refusal came from FindZone passing over a catalog zone for this
	// name (a refused name outside every zone costs no second lookup).
	z, ok := v.PassedCatalog()
	if !ok {
		return refused
	}
	keyName := ""
	if sr != nil {
		keyName = sr.key.Name
	}
	if ok, _ := v.TransferAllowed(z, acc.client, keyName); !ok {
		return refused
	}
	// For this client only: a cached copy would go to anyone.
	acc.nocache = true
	v.ServeCatalogs(true)
	defer v.ServeCatalogs(false)
	if resp := s.answer(v, req, proto, acc); resp != nil {
		return resp
	}
	return refused
}

// special reports whether req is for handleSpecial: a zone transfer or a
// NOTIFY.
func (s *Server) special(req *dns.Msg) bool {
	if req.Response || len(req.Question) != 1 {
		return false
	}
	switch req.Opcode {
	case dns.OpcodeNotify, dns.OpcodeUpdate:
		return true
	case dns.OpcodeQuery:
		t := req.Question[0].Qtype
		return t == dns.TypeAXFR || t == dns.TypeIXFR
	}
	return false
}

// handleSpecial answers a zone transfer (through Options.Transfer) or a
// NOTIFY (refused: dms is the primary and takes no NOTIFY). On TCP the
// answer messages are written to tw and nil is returned; on UDP the one
// answer is returned packed.
func (s *Server) handleSpecial(req *dns.Msg, proto Proto, client netip.AddrPort, sr *signedRequest, tw *tcpWriter, udpReply func([]byte) error, start time.Time) []byte {
	var key *zonedb.TSIGKey
	prevMAC := ""
	if sr != nil {
		key, prevMAC = sr.key, sr.mac
	}
	var udpAnswer []byte
	rcode := -1 // the first message's, for metrics
	n := 0
	var signer *wireSigner
	send := func(b []byte) error {
		if len(b) < 12 {
			return errors.New("short message")
		}
		if rcode < 0 {
			rcode = int(b[3] & 0x0f)
		}
		if sr != nil {
			// RFC 8945 section 5.3.1: every message is signed; the MAC of
			// each covers the one before.
			var err error
			if signer == nil {
				if signer, err = newWireSigner(sr.key); err != nil {
					return err
				}
			}
			if b, prevMAC, err = signer.sign(b, prevMAC, n > 0, time.Now()); err != nil {
				return err
			}
		}
		n++
		if proto == UDP {
			if n == 1 {
				udpAnswer = append([]byte(nil), b...)
			}
			return nil
		}
		return tw.write(b)
	}
	switch {
	case req.Opcode == dns.OpcodeUpdate:
		answer := func(req *dns.Msg) {
			var m *dns.Msg
			if s.opts.Update != nil {
				m = s.opts.Update(req, client, key)
			}
			if m == nil {
				m = new(dns.Msg)
				m.SetRcode(req, dns.RcodeRefused)
			}
			if b, err := m.Pack(); err == nil {
				_ = send(b)
			}
			s.observe(req, m, proto, start)
		}
		// An unsigned update is refused at once (Options.Update): only
		// a signed one may wait for a commit, in the pool.
		if proto == UDP && s.opts.Update != nil && udpReply != nil && key != nil {
			// An update may take a commit's time: the worker goes on and
			// the answer goes out on its own. The worker reuses req for
			// its next packet, so the update gets a copy.
			req := req.Copy()
			s.queueUpdate(updateJob{client: client, run: func() {
				if answer(req); udpAnswer != nil {
					_ = udpReply(udpAnswer)
				}
			}})
			return nil
		}
		answer(req)
		return udpAnswer
	case req.Opcode == dns.OpcodeNotify || s.opts.Transfer == nil:
		if req.Opcode == dns.OpcodeNotify && s.opts.Notify != nil {
			s.opts.Notify(req, client, sr != nil)
		}
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeRefused)
		if b, err := m.Pack(); err == nil {
			_ = send(b)
		}
	default:
		s.opts.Transfer(req, client, proto == TCP, key, send)
	}
	if rcode >= 0 {
		s.observe(req, &dns.Msg{MsgHdr: dns.MsgHdr{Rcode: rcode}, Question: req.Question}, proto, start)
	}
	return udpAnswer
}

// tcpWriter writes length-prefixed messages to a TCP connection.
type tcpWriter struct {
	c    net.Conn
	buf  []byte
	idle time.Duration
}

func (w *tcpWriter) write(b []byte) error {
	if len(b) > 65535 {
		return errors.New("message larger than 65535 bytes")
	}
	w.buf = binary.BigEndian.AppendUint16(w.buf[:0], uint16(len(b)))
	w.buf = append(w.buf, b...)
	_ = w.c.SetWriteDeadline(time.Now().Add(w.idle))
	_, err := w.c.Write(w.buf)
	return err
}

// answer runs the engine, turning a panic into SERVFAIL: one bad query
// must not stop the server.
func (s *Server) answer(v *zonedb.View, req *dns.Msg, proto Proto, acc *access) (resp *dns.Msg) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic answering", "qname", qname(req), "panic", r)
			resp = new(dns.Msg)
			resp.SetRcode(req, dns.RcodeServerFailure)
		}
	}()
	return s.eng.respond(v, req, proto, acc)
}

func qname(m *dns.Msg) string {
	if len(m.Question) > 0 {
		return m.Question[0].Name
	}
	return ""
}

// formerr answers a message that does not parse: FORMERR with its id when
// the header is whole and it is a query, else nothing (a reply to garbage
// can be used for amplification).
func formerr(in []byte) *dns.Msg {
	if len(in) < 12 || in[2]&0x80 != 0 {
		return nil
	}
	m := new(dns.Msg)
	m.Id = binary.BigEndian.Uint16(in)
	m.Response = true
	m.Opcode = int(in[2]>>3) & 0xf
	m.Rcode = dns.RcodeFormatError
	return m
}

// udpBatch is how many datagrams one recvmmsg/sendmmsg moves.
const udpBatch = 32

// udpReadBuffer is each worker socket's receive buffer (SO_RCVBUF): room
// for a burst while the worker answers the last one.
const udpReadBuffer = 4 << 20

// udpConn is a worker's UDP socket: a *net.UDPConn served by the
// netpoller loop below, or on Linux a blocking socket outside the
// netpoller (udp_linux.go).
type udpConn interface {
	LocalAddr() net.Addr
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
	Close() error
}

// batchConn is ipv4.PacketConn or ipv6.PacketConn: recvmmsg and sendmmsg.
type batchConn interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func (s *Server) serveUDP(c udpConn, worker int) {
	if s.serveUDPRaw(c, worker) {
		return
	}
	uc := c.(*net.UDPConn)
	h := s.udpHolder(uc, worker)
	defer h.release()
	var bc batchConn
	if la, ok := uc.LocalAddr().(*net.UDPAddr); ok && la.IP.To4() == nil {
		bc = ipv6.NewPacketConn(uc)
	} else {
		bc = ipv4.NewPacketConn(uc)
	}
	in := make([]ipv4.Message, udpBatch)
	out := make([]ipv4.Message, udpBatch)
	inBuf := make([]byte, udpBatch*4096)
	outBuf := make([]byte, udpBatch*2048)
	for i := range in {
		in[i].Buffers = [][]byte{inBuf[i*4096 : (i+1)*4096]}
		out[i].Buffers = [][]byte{nil}
	}
	req := new(dns.Msg)
	var deadline time.Time
	for {
		// Wake up now and then so an idle worker lets its read
		// transaction go (old pages can then be reused). Moving the
		// deadline costs a timer update: do it at most every 100 ms.
		if now := time.Now(); deadline.Sub(now) < viewMaxAge-100*time.Millisecond {
			deadline = now.Add(viewMaxAge)
			_ = uc.SetReadDeadline(deadline)
		}
		n, err := bc.ReadBatch(in, 0)
		h.readAt = time.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				h.release()
				deadline = time.Time{}
			}
			continue
		}
		w := 0
		for i := range n {
			m := &in[i]
			var client netip.AddrPort
			if ua, ok := m.Addr.(*net.UDPAddr); ok {
				ip, _ := netip.AddrFromSlice(ua.IP)
				client = netip.AddrPortFrom(ip.Unmap(), uint16(ua.Port))
			}
			*req = dns.Msg{}
			ob := outBuf[w*2048 : w*2048 : (w+1)*2048]
			b := s.safeHandle(h, req, m.Buffers[0][:m.N], ob, UDP, client, nil)
			if r := s.rrl.Load(); r != nil && b != nil {
				b = r.Apply(m.Buffers[0][:m.N], b, client.Addr())
			}
			if b == nil {
				continue
			}
			out[w].Buffers[0] = b
			out[w].Addr = m.Addr
			w++
		}
		for sent := 0; sent < w; {
			k, err := bc.WriteBatch(out[sent:w], 0)
			if err != nil {
				break
			}
			sent += k
		}
	}
}

func (s *Server) serveTCP(ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		var client netip.Addr
		if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
			client = ta.AddrPort().Addr().Unmap()
		}
		// Over the client's share or the cap: close at once (RFC 7766
		// section 6.2.2), so one client's idle connections cannot lock
		// the others out.
		if !s.tcpSlots.take(client) {
			s.tcpRejected.Add(1)
			c.Close()
			continue
		}
		select {
		case s.conns <- struct{}{}:
		default:
			s.tcpSlots.release(client)
			s.tcpRejected.Add(1)
			c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-s.conns }()
			defer s.tcpSlots.release(client)
			defer func() {
				if p := recover(); p != nil {
					s.recovered(p, "tcp connection", netip.AddrPortFrom(client, 0))
				}
			}()
			s.serveConn(c)
		}()
	}
}

// serveConn answers the queries of one TCP connection, in order, until the
// client closes it or stays idle (RFC 7766: several queries per connection,
// pipelined; a length prefix that lies ends the connection).
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	// No answer cache per connection: its table alone is 2 MB, and up to
	// MaxTCP connections may be open. TCP answers take the full path.
	h := &viewHolder{db: s.db, noCache: true}
	defer h.release()
	var client netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		client = netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), ta.AddrPort().Port())
	}
	tw := &tcpWriter{c: c, idle: s.opts.TCPIdle}
	// Buffers start small and grow to the largest message seen: up to
	// MaxTCP connections may be open at once.
	in := make([]byte, 512)
	out := make([]byte, 2, 4096)
	req := new(dns.Msg)
	for {
		_ = c.SetReadDeadline(time.Now().Add(s.opts.TCPIdle))
		if _, err := io.ReadFull(c, in[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(in))
		if n < 12 {
			return
		}
		if n > len(in) {
			in = make([]byte, n)
		}
		if _, err := io.ReadFull(c, in[:n]); err != nil {
			return
		}
		*req = dns.Msg{}
		b := s.safeHandle(h, req, in[:n], out[2:], TCP, client, tw)
		h.release() // a TCP client may be slow: hold no transaction between queries
		if b == nil {
			continue
		}
		msg := append(out[:2], b...)
		out = msg[:2] // keep the grown buffer
		binary.BigEndian.PutUint16(msg, uint16(len(b)))
		_ = c.SetWriteDeadline(time.Now().Add(s.opts.TCPIdle))
		if _, err := c.Write(msg); err != nil {
			return
		}
	}
}
