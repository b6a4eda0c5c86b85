package xfr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Result is how a transfer request ended, for metrics and logs.
type Result string

const (
	ResultOK       Result = "ok"
	ResultRefused  Result = "refused"  // not allowed
	ResultNotAuth  Result = "notauth"  // not a zone we serve
	ResultFormErr  Result = "formerr"  // malformed request
	ResultUpToDate Result = "uptodate" // IXFR: the client has the current serial
	ResultFailed   Result = "failed"   // store error, or the client went away
)

// Transfer reports one finished transfer request.
type Transfer struct {
	Type     string // AXFR, IXFR, IXFR-AXFR (a full zone in IXFR form), IXFR-UDP
	Zone     string
	Client   netip.AddrPort
	Result   Result
	Messages int
	Records  int
	Bytes    int
	Duration time.Duration
	Err      error
}

// Server answers AXFR and IXFR (RFC 5936, RFC 1995) from the store.
type Server struct {
	db  *zonedb.DB
	log *slog.Logger
	// Observe, when set, is told about every transfer request.
	Observe func(Transfer)
	// MaxMessage is the size at which an answer message is cut (bytes of
	// uncompressed records); a TCP DNS message holds at most 65535.
	MaxMessage int
	// slots bounds the transfers answered at once (BIND's
	// transfers-out): each holds a read transaction and a connection
	// for as long as the client reads.
	slots chan struct{}
}

// DefaultMaxOut is how many transfers NewServer answers at once.
const DefaultMaxOut = 32

// SetMaxOut sets how many transfers are answered at once; past it a
// request is refused (the secondary retries). Call it before serving.
func (s *Server) SetMaxOut(n int) {
	if n <= 0 {
		n = DefaultMaxOut
	}
	s.slots = make(chan struct{}, n)
}

// NewServer returns a transfer server on db.
func NewServer(db *zonedb.DB, log *slog.Logger) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Server{db: db, log: log.With("component", "xfr"), MaxMessage: 60000, slots: make(chan struct{}, DefaultMaxOut)}
}

// Serve answers one AXFR or IXFR request. tcp says how it came; send
// writes one answer message (the caller signs it when key is set, and
// frames it). The answer goes out in one or more messages; the error is
// the reason the transfer stopped early (for the caller's log), already
// reported to Observe.
// Messages go to send packed (AXFR packs straight from the store).
func (s *Server) Serve(req *dns.Msg, client netip.AddrPort, tcp bool, key *zonedb.TSIGKey, sendWire func([]byte) error) {
	send := func(m *dns.Msg) error {
		b, err := m.Pack()
		if err != nil {
			return err
		}
		return sendWire(b)
	}
	start := time.Now()
	q := req.Question[0]
	t := Transfer{Type: dns.TypeToString[q.Qtype], Zone: strings.ToLower(q.Name), Client: client}
	if q.Qtype == dns.TypeIXFR && !tcp {
		t.Type = "IXFR-UDP"
	}
	var err error
	select {
	case s.slots <- struct{}{}:
		err = s.db.View(func(v *zonedb.View) error { return s.serve(v, req, client, tcp, key, send, sendWire, &t) })
		<-s.slots
	default:
		t.Result, t.Err = ResultRefused, fmt.Errorf("%d transfers under way already (dms serve --max-xfr-out)", cap(s.slots))
		err = send(reply(req, dns.RcodeRefused))
	}
	t.Duration = time.Since(start)
	if err != nil && t.Err == nil {
		t.Err = err
		if t.Result == "" || t.Result == ResultOK {
			t.Result = ResultFailed
		}
	}
	lvl := slog.LevelInfo
	if t.Result != ResultOK && t.Result != ResultUpToDate {
		lvl = slog.LevelWarn
	}
	if t.Result == ResultRefused {
		// Anyone may ask: counted in the event log in aggregate, and
		// logged once a minute per client and reason.
		why := ""
		if t.Err != nil {
			why = t.Err.Error()
		}
		if !s.db.NoteRefusal(t.Type, t.Zone, t.Client.Addr().String(), why) {
			lvl = slog.LevelDebug
		}
	}
	attrs := []any{"type", t.Type, "zone", t.Zone, "client", t.Client.String(), "result", string(t.Result),
		"messages", t.Messages, "records", t.Records, "bytes", t.Bytes, "duration", t.Duration.Round(time.Microsecond).String()}
	if key != nil {
		attrs = append(attrs, "key", key.Name)
	}
	if t.Err != nil {
		attrs = append(attrs, "err", t.Err.Error())
	}
	s.log.Log(context.Background(), lvl, "transfer", attrs...)
	if s.Observe != nil {
		s.Observe(t)
	}
}

func reply(req *dns.Msg, rcode int) *dns.Msg {
	m := new(dns.Msg)
	m.SetRcode(req, rcode)
	m.Authoritative = rcode == dns.RcodeSuccess
	return m
}

func (s *Server) serve(v *zonedb.View, req *dns.Msg, client netip.AddrPort, tcp bool, key *zonedb.TSIGKey, send func(*dns.Msg) error, sendWire func([]byte) error, t *Transfer) error {
	q := req.Question[0]
	fail := func(r Result, rcode int, why error) error {
		t.Result, t.Err = r, why
		return send(reply(req, rcode))
	}
	if q.Qclass != dns.ClassINET {
		return fail(ResultNotAuth, dns.RcodeNotAuth, errors.New("class is not IN"))
	}
	keyName := ""
	if key != nil {
		keyName = key.Name
	}
	// The client's view (split horizon), as for its queries: a secondary
	// of a view's server group is told apart by its TSIG key or address.
	views, err := v.ViewTable()
	if err != nil {
		return fail(ResultRefused, dns.RcodeServerFailure, err)
	}
	id, _, ok := views.Match(client.Addr(), keyName)
	if !ok {
		return fail(ResultRefused, dns.RcodeRefused, errors.New("no view matches the client"))
	}
	v.UseView(id)
	z, err := v.Zone(q.Name)
	if err != nil || z.Deleted || z.Disabled {
		return fail(ResultNotAuth, dns.RcodeNotAuth, errors.New("not a zone served here"))
	}
	t.Zone = z.Name
	if ok, why := v.TransferAllowed(z, client.Addr(), keyName); !ok {
		return fail(ResultRefused, dns.RcodeRefused, errors.New(why))
	}
	if q.Qtype == dns.TypeAXFR {
		if !tcp {
			// RFC 5936 section 4.2: AXFR is TCP only.
			return fail(ResultFormErr, dns.RcodeFormatError, errors.New("AXFR over UDP"))
		}
		return s.axfrWire(v, z, req, sendWire, t)
	}
	// IXFR: the client's SOA is in the authority section (RFC 1995 section 3).
	var clientSOA *dns.SOA
	if len(req.Ns) == 1 {
		clientSOA, _ = req.Ns[0].(*dns.SOA)
	}
	if clientSOA == nil || !strings.EqualFold(clientSOA.Hdr.Name, z.Name) {
		return fail(ResultFormErr, dns.RcodeFormatError, errors.New("IXFR without the client's SOA in the authority section"))
	}
	return s.ixfr(v, z, req, clientSOA, tcp, send, sendWire, t)
}

// ixfr answers an IXFR from clientSOA's serial: our SOA when the client is
// up to date (or over UDP, truncated), the condensed difference, or the
// whole zone when the history does not reach or the difference is larger.
func (s *Server) ixfr(v *zonedb.View, z *zonedb.Zone, req *dns.Msg, clientSOA *dns.SOA, tcp bool, send func(*dns.Msg) error, sendWire func([]byte) error, t *Transfer) error {
	soa, err := currentSOA(v, z)
	if err != nil {
		return err
	}
	if !zonedb.SerialLess(clientSOA.Serial, soa.Serial) {
		// RFC 1995 section 2: the same or a newer serial gets our SOA.
		t.Result = ResultUpToDate
		m := reply(req, dns.RcodeSuccess)
		m.Answer = []dns.RR{soa}
		return s.sendCount(m, send, t)
	}
	if !tcp {
		// A difference does not fit a datagram: our SOA tells the client
		// it is behind, TC that it must ask over TCP (RFC 1995 section 2).
		t.Result = ResultOK
		m := reply(req, dns.RcodeSuccess)
		m.Answer = []dns.RR{soa}
		m.Truncated = true
		return s.sendCount(m, send, t)
	}
	diff, err := s.condensed(v, z, clientSOA.Serial)
	if err != nil {
		return err
	}
	if diff == nil {
		// The journal does not reach the client's serial, or the
		// difference is larger than the zone: the whole zone, IXFR form.
		t.Type = "IXFR-AXFR"
		return s.axfrWire(v, z, req, sendWire, t)
	}
	w := s.newWriter(req, send, t)
	w.add(soa)
	w.add(diff.oldSOA)
	for _, r := range diff.removed {
		w.add(r)
	}
	w.add(soa)
	for _, r := range diff.added {
		w.add(r)
	}
	w.add(soa)
	if err := w.flush(); err != nil {
		return err
	}
	t.Result = ResultOK
	return nil
}

func (s *Server) sendCount(m *dns.Msg, send func(*dns.Msg) error, t *Transfer) error {
	t.Messages++
	t.Records += len(m.Answer)
	return send(m)
}

func currentSOA(v *zonedb.View, z *zonedb.Zone) (*dns.SOA, error) {
	recs, err := v.RRset(z, z.Name, dns.TypeSOA)
	if err != nil {
		return nil, err
	}
	if len(recs) != 1 {
		return nil, fmt.Errorf("zone %s has %d SOA records", z.Name, len(recs))
	}
	return recs[0].RR.(*dns.SOA), nil
}

// writer cuts a stream of records into messages.
type writer struct {
	s    *Server
	req  *dns.Msg
	send func(*dns.Msg) error
	t    *Transfer
	m    *dns.Msg
	size int
	err  error
}

func (s *Server) newWriter(req *dns.Msg, send func(*dns.Msg) error, t *Transfer) *writer {
	return &writer{s: s, req: req, send: send, t: t}
}

func (w *writer) add(rr dns.RR) {
	if w.err != nil {
		return
	}
	n := dns.Len(rr)
	if w.m != nil && w.size+n > w.s.MaxMessage {
		w.err = w.flush()
		if w.err != nil {
			return
		}
	}
	if w.m == nil {
		w.m = reply(w.req, dns.RcodeSuccess)
		w.m.Compress = true
		// Only the first message repeats the question (RFC 5936 section 2.2).
		if w.t.Messages > 0 {
			w.m.Question = nil
		}
		w.size = 12
	}
	w.m.Answer = append(w.m.Answer, rr)
	w.size += n
	w.t.Records++
}

func (w *writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if w.m == nil {
		return nil
	}
	m := w.m
	w.m = nil
	w.t.Messages++
	w.t.Bytes += w.size
	if err := w.send(m); err != nil {
		w.err = err
	}
	return w.err
}

// diff is a condensed IXFR difference.
type diff struct {
	oldSOA         dns.RR
	removed, added []dns.RR
}

// condensed returns the net difference from serial to the current
// instance: each record removed or added once, a record added and then
// removed not at all (RFC 1995 section 5 allows condensing). nil when the
// journal does not reach serial or the difference is larger than the zone.
func (s *Server) condensed(v *zonedb.View, z *zonedb.Zone, serial uint32) (*diff, error) {
	zis, err := v.ZIs(z)
	if err != nil {
		return nil, err
	}
	start := -1
	for i := len(zis) - 1; i >= 0; i-- {
		if zis[i].ID > z.ZI {
			continue // not published yet
		}
		if zis[i].Serial == serial {
			start = i
			break
		}
	}
	if start < 0 {
		return nil, nil
	}
	// A difference larger than the zone is not worth sending: past a few
	// thousand records, compare with the zone's size (a scan, so only then).
	limit := -1
	cd := condenser{removed: map[string]dns.RR{}, added: map[string]dns.RR{}}
	count := 0
	tooBig := errors.New("the difference is larger than the zone")
	err = v.History(z, zis[start].ID, z.ZI, false, func(_ zonedb.ZI, d *zonedb.Diff) (bool, error) {
		count += len(d.Removed) + len(d.Added)
		if count > 4096 {
			if limit < 0 {
				limit = v.NumRRsets(z)
			}
			if count > 2*limit+4 {
				return false, tooBig
			}
		}
		cd.add(d)
		return true, nil
	})
	// The zone replaced wholesale after serial, or a difference larger
	// than the zone: a full transfer instead.
	if errors.Is(err, zonedb.ErrHistoryGone) || errors.Is(err, tooBig) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if cd.oldSOA == nil {
		// No instance after serial changed the SOA: build the client's.
		cur, err := currentSOA(v, z)
		if err != nil {
			return nil, err
		}
		o := dns.Copy(cur).(*dns.SOA)
		o.Serial = serial
		cd.oldSOA = o
	}
	return cd.diff(), nil
}

// condenser folds instances' diffs into one: an RR removed and added
// again (or added and removed) cancels out; order keeps the first time
// each RR was seen, so the result is the same at every run.
type condenser struct {
	removed, added map[string]dns.RR
	order          []string
	oldSOA         dns.RR
}

// add folds one instance's diff in; DISABLE records are not published, and
// the SOAs are the transfer's own.
func (cd *condenser) add(d *zonedb.Diff) {
	for _, r := range d.Removed {
		if r.Flags&zonedb.FlagDisable != 0 {
			continue
		}
		if r.RR.Header().Rrtype == dns.TypeSOA {
			if cd.oldSOA == nil {
				cd.oldSOA = r.RR
			}
			continue
		}
		cd.note(cd.removed, cd.added, r.RR)
	}
	for _, r := range d.Added {
		if r.Flags&zonedb.FlagDisable != 0 || r.RR.Header().Rrtype == dns.TypeSOA {
			continue
		}
		cd.note(cd.added, cd.removed, r.RR)
	}
}

// note puts rr in side, unless other has it: then the two cancel out.
func (cd *condenser) note(side, other map[string]dns.RR, rr dns.RR) {
	k := rr.String()
	if _, ok := other[k]; ok {
		delete(other, k)
		return
	}
	if _, ok := side[k]; !ok {
		cd.order = append(cd.order, k)
	}
	side[k] = rr
}

// diff is the folded difference, in first-seen order.
func (cd *condenser) diff() *diff {
	out := &diff{oldSOA: cd.oldSOA}
	for _, k := range cd.order {
		if rr, ok := cd.removed[k]; ok {
			out.removed = append(out.removed, rr)
			delete(cd.removed, k)
		}
		if rr, ok := cd.added[k]; ok {
			out.added = append(out.added, rr)
			delete(cd.added, k)
		}
	}
	return out
}
