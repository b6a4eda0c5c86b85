package authserver

import (
	"encoding/binary"
	"hash/maphash"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// Response rate limiting (RRL), after BIND's rate-limit and Knot's
// mod-rrl. An authoritative server answers anyone, so a spoofed flood of
// queries makes it a reflector: the answers, larger than the queries, go
// to the victim whose address the queries carry. RRL counts the responses
// going to one client network (a /24 or /56 by default) per kind of
// response and name, in a token bucket; past the rate it drops them,
// except every slip-th, which goes out truncated (TC=1, no records) so a
// real client behind the spoofed address retries over TCP, where no
// spoofing is possible. Only UDP is limited.
//
// Responses are counted by class, and by the name that class is about,
// so a flood of random names falls into one bucket (BIND's classes):
// answers by query name and type; NODATA by query name; NXDOMAIN by the
// zone (the SOA owner in authority); referrals by the delegation (the NS
// owner); errors (REFUSED, SERVFAIL, FORMERR...) by client network alone.
//
// The table has a fixed number of buckets whatever the number of source
// addresses (Knot's design): a new key takes over the bucket its hash
// falls in. The hash is keyed at random, so which keys share a bucket is
// not for a client to choose.

// RRLConfig configures response rate limiting.
type RRLConfig struct {
	// ResponsesPerSecond is the rate per client network and response
	// bucket; 0 turns RRL off.
	ResponsesPerSecond int
	// Slip: every Slip-th limited response is sent truncated, the others
	// dropped; 0 drops them all, 1 truncates them all.
	Slip int
	// Window is how long a flood is remembered: a bucket's debt is
	// bounded by Window seconds of the rate.
	Window time.Duration
	// IPv4Prefix and IPv6Prefix are the client network sizes.
	IPv4Prefix, IPv6Prefix int
	// Exempt are networks never limited (the secondaries dms feeds, and
	// the operator's rrl_exempt).
	Exempt []netip.Prefix
	// LogOnly counts and logs what would be limited, and answers it all.
	LogOnly bool
	// Buckets is the table size (rounded up to a power of two); 0 means
	// 1<<16.
	Buckets int
}

// RRLStats are the counts since start.
type RRLStats struct {
	// Limited responses were over the rate; each was then slipped,
	// dropped or (log-only) sent all the same.
	Limited, Slipped, Dropped, LogOnly uint64
}

// rrlClass is the kind of response a bucket counts.
type rrlClass byte

const (
	rrlAnswer rrlClass = iota + 1
	rrlNoData
	rrlNXDomain
	rrlReferral
	rrlError
)

var rrlClassNames = [...]string{rrlAnswer: "answer", rrlNoData: "nodata", rrlNXDomain: "nxdomain", rrlReferral: "referral", rrlError: "error"}

type rrlBucket struct {
	key    uint64
	stamp  int64 // ms since the limiter's start
	tokens int64 // thousandths of a response
	slip   uint32
	// limiting: the bucket is over its rate (logged once per episode).
	limiting bool
}

const rrlShards = 64

// RRL is a response rate limiter shared by the UDP workers.
type RRL struct {
	cfg   RRLConfig
	seed  maphash.Seed
	start time.Time
	mask  uint64
	table []rrlBucket
	locks [rrlShards]sync.Mutex
	log   *slog.Logger
	// clock is time.Now (tests step it).
	clock func() time.Time
	// counts outlive a limiter replaced by a new configuration (the
	// Server's, once set there).
	counts *rrlCounts
}

type rrlCounts struct{ limited, slipped, dropped, logOnly atomic.Uint64 }

// NewRRL makes a limiter; nil when cfg turns RRL off.
func NewRRL(cfg RRLConfig, log *slog.Logger) *RRL {
	if cfg.ResponsesPerSecond <= 0 {
		return nil
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.Window <= 0 {
		cfg.Window = 15 * time.Second
	}
	if cfg.IPv4Prefix <= 0 || cfg.IPv4Prefix > 32 {
		cfg.IPv4Prefix = 24
	}
	if cfg.IPv6Prefix <= 0 || cfg.IPv6Prefix > 128 {
		cfg.IPv6Prefix = 56
	}
	n := 1 << 16
	if cfg.Buckets > 0 {
		n = 1 << 10
		for n < cfg.Buckets {
			n <<= 1
		}
	}
	return &RRL{cfg: cfg, seed: maphash.MakeSeed(), start: time.Now(), mask: uint64(n - 1), table: make([]rrlBucket, n),
		log: log.With("component", "rrl"), clock: time.Now, counts: new(rrlCounts)}
}

// Config is the limiter's configuration.
func (r *RRL) Config() RRLConfig { return r.cfg }

// Stats returns the counts since start.
func (r *RRL) Stats() RRLStats {
	if r == nil {
		return RRLStats{}
	}
	return r.counts.stats()
}

func (c *rrlCounts) stats() RRLStats {
	return RRLStats{Limited: c.limited.Load(), Slipped: c.slipped.Load(), Dropped: c.dropped.Load(), LogOnly: c.logOnly.Load()}
}

// exempt says whether client is never limited.
func (r *RRL) exempt(client netip.Addr) bool {
	for _, p := range r.cfg.Exempt {
		if p.Contains(client) {
			return true
		}
	}
	return false
}

// Apply decides the fate of resp, a packed UDP response to req from
// client: it returns resp, or the truncated form of it written into resp's
// memory (a slip), or nil (dropped).
func (r *RRL) Apply(req, resp []byte, client netip.Addr) []byte {
	if len(resp) < 12 || r.exempt(client) {
		return resp
	}
	class, nameOff, nameMsg := classify(req, resp)
	if class == 0 {
		return resp
	}
	var h maphash.Hash
	h.SetSeed(r.seed)
	r.hashClient(&h, client)
	h.WriteByte(byte(class))
	if nameMsg != nil {
		hashWireName(&h, nameMsg, nameOff)
	}
	if class == rrlAnswer && len(req) >= 12 {
		// Answers count per query type too (BIND): the type follows the
		// question name.
		if end := skipName(req, 12); end > 0 && end+2 <= len(req) {
			h.Write(req[end : end+2])
		}
	}
	key := h.Sum64() | 1 // 0 marks an empty bucket
	now := r.clock().Sub(r.start).Milliseconds()
	limited, first, slip := r.debit(key, now)
	if !limited {
		return resp
	}
	r.counts.limited.Add(1)
	if first {
		r.logStart(client, class, nameMsg, nameOff)
	}
	switch {
	case r.cfg.LogOnly:
		r.counts.logOnly.Add(1)
		return resp
	case slip:
		r.counts.slipped.Add(1)
		return truncated(resp)
	}
	r.counts.dropped.Add(1)
	return nil
}

// debit takes one response from the key's bucket at time now (ms), under
// the bucket's one lock. It reports whether the response is over the
// rate, whether it is the first of a limiting episode (for the log), and
// whether a limited one slips (every Slip-th of the bucket's).
func (r *RRL) debit(key uint64, now int64) (limited, first, slip bool) {
	i := key & r.mask
	mu := &r.locks[i%rrlShards]
	mu.Lock()
	defer mu.Unlock()
	b := &r.table[i]
	rate := int64(r.cfg.ResponsesPerSecond) * 1000
	if b.key != key {
		*b = rrlBucket{key: key, stamp: now, tokens: rate}
	}
	// A second of the rate refills rate responses; the bucket holds at
	// most a second's worth, and owes at most a window's.
	b.tokens = min(rate, b.tokens+(now-b.stamp)*int64(r.cfg.ResponsesPerSecond))
	b.stamp = now
	b.tokens = max(b.tokens-1000, -rate*int64(r.cfg.Window/time.Second))
	if b.tokens >= 0 {
		b.limiting = false
		return false, false, false
	}
	first = !b.limiting
	b.limiting = true
	if r.cfg.Slip > 0 {
		b.slip++
		slip = b.slip%uint32(r.cfg.Slip) == 0
	}
	return true, first, slip
}

// hashClient writes client's network (its address masked to the
// configured prefix).
func (r *RRL) hashClient(h *maphash.Hash, client netip.Addr) {
	bits := r.cfg.IPv6Prefix
	if client.Is4() {
		bits = r.cfg.IPv4Prefix
	}
	p, err := client.Prefix(bits)
	if err != nil {
		return
	}
	a := p.Addr().As16()
	h.Write(a[:])
}

func (r *RRL) logStart(client netip.Addr, class rrlClass, msg []byte, off int) {
	bits := r.cfg.IPv6Prefix
	if client.Is4() {
		bits = r.cfg.IPv4Prefix
	}
	p, _ := client.Prefix(bits)
	name := ""
	if msg != nil {
		name, _, _ = dns.UnpackDomainName(msg, off)
	}
	what := "limiting"
	if r.cfg.LogOnly {
		what = "would limit (log only)"
	}
	r.log.Info("response rate "+what, "client", p.String(), "class", rrlClassNames[class], "name", name, "rate", r.cfg.ResponsesPerSecond)
}

// classify finds a response's class and the name its bucket is about (an
// offset into the request or the response; msg nil: no name).
func classify(req, resp []byte) (c rrlClass, off int, msg []byte) {
	rcode := resp[3] & 0x0f
	qd := binary.BigEndian.Uint16(resp[4:])
	an := binary.BigEndian.Uint16(resp[6:])
	ns := binary.BigEndian.Uint16(resp[8:])
	switch {
	case rcode == dns.RcodeNameError:
		// The zone: the owner of the SOA in authority.
		if o := firstAuthority(resp, qd, an, ns); o > 0 {
			return rrlNXDomain, o, resp
		}
		return rrlNXDomain, 0, nil
	case rcode != dns.RcodeSuccess:
		return rrlError, 0, nil
	case an > 0:
		if len(req) > 12 {
			return rrlAnswer, 12, req
		}
		return rrlAnswer, 0, nil
	case resp[2]&0x04 == 0 && ns > 0:
		// Not authoritative, no answer, NS in authority: a referral.
		if o := firstAuthority(resp, qd, an, ns); o > 0 {
			return rrlReferral, o, resp
		}
		return rrlReferral, 0, nil
	default:
		if len(req) > 12 {
			return rrlNoData, 12, req
		}
		return rrlNoData, 0, nil
	}
}

// firstAuthority is the offset of the owner name of the first authority
// record, or 0.
func firstAuthority(msg []byte, qd, an, ns uint16) int {
	if ns == 0 {
		return 0
	}
	off := 12
	for range qd {
		if off = skipName(msg, off); off < 0 || off+4 > len(msg) {
			return 0
		}
		off += 4
	}
	for range an {
		if off = skipRR(msg, off); off < 0 {
			return 0
		}
	}
	if off >= len(msg) {
		return 0
	}
	return off
}

// skipName returns the offset after the (possibly compressed) name at off,
// or -1.
func skipName(msg []byte, off int) int {
	for off < len(msg) {
		l := int(msg[off])
		switch {
		case l == 0:
			return off + 1
		case l&0xc0 == 0xc0:
			if off+2 > len(msg) {
				return -1
			}
			return off + 2
		case l&0xc0 != 0:
			return -1
		}
		off += 1 + l
	}
	return -1
}

func skipRR(msg []byte, off int) int {
	if off = skipName(msg, off); off < 0 || off+10 > len(msg) {
		return -1
	}
	off += 10 + int(binary.BigEndian.Uint16(msg[off+8:]))
	if off > len(msg) {
		return -1
	}
	return off
}

// hashWireName writes the name at off, lower-cased, following compression
// pointers (at most 64 of them: a loop ends there).
func hashWireName(h *maphash.Hash, msg []byte, off int) {
	for hops := 0; off < len(msg) && hops < 64; {
		l := int(msg[off])
		switch {
		case l == 0:
			h.WriteByte(0)
			return
		case l&0xc0 == 0xc0:
			if off+2 > len(msg) {
				return
			}
			off = int(binary.BigEndian.Uint16(msg[off:]) & 0x3fff)
			hops++
			continue
		case l&0xc0 != 0 || off+1+l > len(msg):
			return
		}
		h.WriteByte(byte(l))
		for _, c := range msg[off+1 : off+1+l] {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			h.WriteByte(c)
		}
		off += 1 + l
	}
}

// truncated rewrites resp in place as its slip: the header with TC set
// and no records, and the question.
func truncated(resp []byte) []byte {
	end := 12
	if binary.BigEndian.Uint16(resp[4:]) > 0 {
		if e := skipName(resp, 12); e > 0 && e+4 <= len(resp) {
			end = e + 4
			binary.BigEndian.PutUint16(resp[4:], 1)
		} else {
			binary.BigEndian.PutUint16(resp[4:], 0)
		}
	}
	resp[2] |= 0x02 // TC
	binary.BigEndian.PutUint16(resp[6:], 0)
	binary.BigEndian.PutUint16(resp[8:], 0)
	binary.BigEndian.PutUint16(resp[10:], 0)
	return resp[:end]
}
