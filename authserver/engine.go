package authserver

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Config is what the operator sets about answering.
type Config struct {
	// Version answers CHAOS version.bind / version.server; empty refuses
	// (hiding the version is the default).
	Version string
	// Identity answers CHAOS hostname.bind / id.server; empty refuses.
	Identity string
	// NSID is returned to clients that ask (RFC 5001); empty: none.
	NSID string
	// CookieSecret keys the server cookies (RFC 7873, RFC 9018 layout).
	CookieSecret []byte
}

// OurUDPSize is the EDNS buffer size we advertise and the largest UDP
// answer we send (the DNS flag day 2020 value).
const OurUDPSize = 1232

// Engine turns queries into answers from the store.
type Engine struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// NewEngine returns an Engine. log may be nil.
func NewEngine(cfg Config, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, log: log.With("component", "authserver"), now: time.Now}
}

// Proto is the transport a query came over.
type Proto int

// Transports.
const (
	UDP Proto = iota
	TCP
)

func (p Proto) String() string {
	if p == TCP {
		return "tcp"
	}
	return "udp"
}

// Answer returns the response to req, or nil when no response may be sent
// (a response, or a message too broken to answer). client is the peer
// address, for cookies and allow-query (access.go). For UDP the response
// is already truncated to what the client can take.
func (e *Engine) Answer(v *zonedb.View, req *dns.Msg, proto Proto, client netip.Addr) *dns.Msg {
	return e.respond(v, req, proto, &access{acl: newQueryACL(v, v.Generation()), client: client.Unmap()})
}

// respond is Answer with the worker's allow-query table.
func (e *Engine) respond(v *zonedb.View, req *dns.Msg, proto Proto, acc *access) *dns.Msg {
	if req.Response {
		return nil // never answer an answer (amplification loops)
	}
	resp := new(dns.Msg)
	resp.Id = req.Id
	resp.Response = true
	resp.Opcode = req.Opcode
	resp.RecursionDesired = req.RecursionDesired
	resp.CheckingDisabled = req.CheckingDisabled
	resp.Question = req.Question
	resp.Compress = true

	if req.Opcode != dns.OpcodeQuery {
		resp.Rcode = dns.RcodeNotImplemented
		return resp
	}
	if len(req.Question) != 1 || len(req.Answer) != 0 || len(req.Ns) != 0 {
		resp.Rcode = dns.RcodeFormatError
		return resp
	}
	// EDNS (RFC 6891): one OPT at most, version 0. A signed request's
	// answer gets a TSIG record of its own after it: room is kept for it.
	var opt *dns.OPT
	reserve := 0
	for _, rr := range req.Extra {
		switch rr := rr.(type) {
		case *dns.OPT:
			if opt != nil {
				resp.Rcode = dns.RcodeFormatError
				return resp
			}
			opt = rr
		case *dns.TSIG:
			reserve = tsigLen(rr)
		}
	}
	size := 512
	do := false
	if opt != nil {
		ro := &dns.OPT{Hdr: dns.RR_Header{Name: ".", Rrtype: dns.TypeOPT}}
		ro.SetUDPSize(OurUDPSize)
		if opt.Version() != 0 {
			ro.SetExtendedRcode(dns.RcodeBadVers)
			resp.Rcode = dns.RcodeBadVers
			resp.Extra = append(resp.Extra, ro)
			return resp
		}
		do = opt.Do()
		ro.SetDo(do)
		size = max(512, min(int(opt.UDPSize()), OurUDPSize))
		if rc := e.options(opt, ro, acc.client); rc != dns.RcodeSuccess {
			resp.Rcode = rc
			if rc >= 16 {
				ro.SetExtendedRcode(uint16(rc))
			}
			resp.Extra = append(resp.Extra, ro)
			return resp
		}
		e.finish(v, resp, req, do, acc)
		if proto == UDP {
			truncate(resp, ro, size-reserve)
		}
		resp.Extra = append(resp.Extra, ro)
		return resp
	}
	e.finish(v, resp, req, do, acc)
	if proto == UDP {
		truncate(resp, nil, size-reserve)
	}
	return resp
}

// finish answers the question.
func (e *Engine) finish(v *zonedb.View, resp, req *dns.Msg, do bool, acc *access) {
	q := req.Question[0]
	switch {
	case q.Qclass == dns.ClassCHAOS:
		e.chaos(resp, q)
	case q.Qclass != dns.ClassINET && q.Qclass != dns.ClassANY:
		resp.Rcode = dns.RcodeRefused
	case q.Qtype == dns.TypeOPT || q.Qtype == dns.TypeTSIG || q.Qtype == dns.TypeTKEY:
		resp.Rcode = dns.RcodeFormatError
	case q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR || q.Qtype == dns.TypeMAILA || q.Qtype == dns.TypeMAILB:
		// Zone transfers are answered by the transfer service.
		resp.Rcode = dns.RcodeRefused
	default:
		if !e.lookup(v, resp, q.Name, q.Qtype, do, acc) {
			resp.Rcode = dns.RcodeRefused
		}
	}
}

// uncompressedLen bounds the packed length of resp (with opt) from above.
func uncompressedLen(resp *dns.Msg, opt *dns.OPT) int {
	n := 12
	for _, q := range resp.Question {
		n += len(q.Name) + 1 + 4
	}
	for _, sec := range [][]dns.RR{resp.Answer, resp.Ns, resp.Extra} {
		for _, rr := range sec {
			n += dns.Len(rr)
		}
	}
	if opt != nil {
		n += dns.Len(opt)
	}
	return n
}

// tsigLen bounds the length of the TSIG record that signs the answer to
// a request signed with t: owner, fixed fields, algorithm name, time, fudge
// and lengths, and a MAC of up to 64 bytes (HMAC-SHA512).
func tsigLen(t *dns.TSIG) int {
	return len(t.Hdr.Name) + 1 + 10 + len(t.Algorithm) + 1 + 16 + 64
}

// truncate makes resp fit in size bytes (RFC 2181 section 9): additional
// records go first, without TC, unless they are the glue a referral needs
// (RFC 9471); if the answer or authority do not fit, the answer is emptied
// and TC set, so the client asks again over TCP. opt is kept.
func truncate(resp *dns.Msg, opt *dns.OPT, size int) (truncated bool) {
	// Most answers fit even uncompressed: that bound is cheap (no
	// compression map), the exact length is not.
	if uncompressedLen(resp, opt) <= size {
		return false
	}
	withOPT := func() int {
		if opt == nil {
			return resp.Len()
		}
		resp.Extra = append(resp.Extra, opt)
		n := resp.Len()
		resp.Extra = resp.Extra[:len(resp.Extra)-1]
		return n
	}
	if withOPT() <= size {
		return false
	}
	referral := !resp.Authoritative && len(resp.Answer) == 0 && len(resp.Ns) > 0
	for len(resp.Extra) > 0 {
		resp.Extra = resp.Extra[:len(resp.Extra)-1]
		if withOPT() <= size {
			if referral {
				resp.Truncated = true
			}
			return true
		}
	}
	resp.Truncated = true
	resp.Answer, resp.Ns, resp.Extra = nil, nil, nil
	return true
}

// options handles the EDNS options we know: NSID and COOKIE. It returns a
// non-success rcode for a malformed cookie.
func (e *Engine) options(opt, ro *dns.OPT, client netip.Addr) int {
	for _, o := range opt.Option {
		switch o := o.(type) {
		case *dns.EDNS0_NSID:
			if e.cfg.NSID != "" {
				ro.Option = append(ro.Option, &dns.EDNS0_NSID{Code: dns.EDNS0NSID, Nsid: hexString(e.cfg.NSID)})
			}
		case *dns.EDNS0_COOKIE:
			// RFC 7873 section 5.2: 8 bytes of client cookie, then
			// optionally 8 to 32 of server cookie; anything else FORMERR.
			raw := o.Cookie
			if len(raw)%2 != 0 {
				return dns.RcodeFormatError
			}
			b := make([]byte, len(raw)/2)
			for i := range b {
				hi, ok1 := unhex(raw[2*i])
				lo, ok2 := unhex(raw[2*i+1])
				if !ok1 || !ok2 {
					return dns.RcodeFormatError
				}
				b[i] = hi<<4 | lo
			}
			if len(b) != 8 && (len(b) < 16 || len(b) > 40) {
				return dns.RcodeFormatError
			}
			ro.Option = append(ro.Option, &dns.EDNS0_COOKIE{Code: dns.EDNS0COOKIE, Cookie: hexString(string(e.serverCookie(b[:8], client)))})
		}
	}
	return dns.RcodeSuccess
}

// serverCookie returns client cookie | server cookie in the RFC 9018
// layout (version 1, reserved, timestamp, 8-byte hash), the hash an
// HMAC-SHA256 over client cookie, version, reserved, timestamp and client
// address, truncated (RFC 9018 uses SipHash-2-4; any keyed hash is allowed
// for a server that is not part of an anycast set sharing cookies).
func (e *Engine) serverCookie(cc []byte, client netip.Addr) []byte {
	out := make([]byte, 0, 24)
	out = append(out, cc...)
	out = append(out, 1, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(e.now().Unix()))
	m := hmac.New(sha256.New, e.cfg.CookieSecret)
	m.Write(out)
	ab := client.AsSlice()
	m.Write(ab)
	return append(out, m.Sum(nil)[:8]...)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

func hexString(s string) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 2*len(s))
	for i := 0; i < len(s); i++ {
		b[2*i], b[2*i+1] = digits[s[i]>>4], digits[s[i]&15]
	}
	return string(b)
}

// chaos answers the CHAOS-class identity queries, or refuses them.
func (e *Engine) chaos(resp *dns.Msg, q dns.Question) {
	var txt string
	switch strings.ToLower(q.Name) {
	case "version.bind.", "version.server.":
		txt = e.cfg.Version
	case "hostname.bind.", "id.server.":
		txt = e.cfg.Identity
	}
	if txt == "" || q.Qtype != dns.TypeTXT && q.Qtype != dns.TypeANY {
		resp.Rcode = dns.RcodeRefused
		return
	}
	resp.Authoritative = true
	resp.Answer = append(resp.Answer, &dns.TXT{
		Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeTXT, Class: dns.ClassCHAOS},
		Txt: []string{txt},
	})
}
