package dnssec

import (
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Default signing parameters (RFC 9276: NSEC3 without extra iterations or
// salt).
const (
	DefaultValidity = 14 * 24 * time.Hour
	DefaultRefresh  = 7 * 24 * time.Hour
)

// DefaultParams are the DNSSEC settings of a newly signed zone.
func DefaultParams() zonedb.DNSSECParams {
	return zonedb.DNSSECParams{NSEC3: true, Validity: DefaultValidity, Refresh: DefaultRefresh}
}

// Signer signs zones inside zonedb.Commit (zonedb.Signer): the RRSIGs of
// exactly the RRsets a commit changed, the NSEC3 records whose owners or
// neighbours changed, and the DNSKEY RRset from the zone's keys.
type Signer struct {
	mu   sync.Mutex
	keys map[string]*Key // parsed keys by their private text's hash
	made atomic.Uint64
}

// Signatures is the number of RRSIGs made since start.
func (s *Signer) Signatures() uint64 { return s.made.Load() }

// NewSigner returns a signer.
func NewSigner() *Signer { return &Signer{keys: map[string]*Key{}} }

func (s *Signer) parse(dk zonedb.DNSSECKey) (*Key, error) {
	id := dk.DNSKEY + "\x00" + dk.Private
	s.mu.Lock()
	k, ok := s.keys[id]
	s.mu.Unlock()
	if ok {
		return k, nil
	}
	k, err := ParseKey(dk.DNSKEY, dk.Private)
	if err != nil {
		return nil, fmt.Errorf("key %d (tag %d): %w", dk.ID, dk.Tag, err)
	}
	s.mu.Lock()
	s.keys[id] = k
	s.mu.Unlock()
	return k, nil
}

// job is the state of one Sign call.
type job struct {
	sc     *zonedb.SignContext
	zone   string
	params zonedb.DNSSECParams
	salt   string
	// published keys (DNSKEY RRset), signing keys by role.
	dnskeys   []dns.RR
	zsks      []*Key // sign everything but the apex key RRsets
	ksks      []*Key // sign DNSKEY, CDS, CDNSKEY
	inception time.Time
	soaMin    uint32
	saltBytes []byte // the NSEC3 salt (params.Salt decoded)
	// cut caches whether a name is at or below a delegation.
	cut map[string]cutState
	// cds are the SEP keys the parent should have a DS for (CDS/CDNSKEY,
	// RFC 7344); zskTags the tags of the keys that sign data.
	cds     []*Key
	zskTags map[uint16]bool
	// minExp is the soonest expiry of the signatures made.
	minExp time.Time
	mu     sync.Mutex
	made   *atomic.Uint64
}

type cutState uint8

const (
	cutNone  cutState = iota + 1 // authoritative data
	cutAt                        // a delegation point (NS below the apex)
	cutBelow                     // occluded: glue or data below a cut
)

// Sign implements zonedb.Signer.
func (s *Signer) Sign(sc *zonedb.SignContext) error {
	j := &job{sc: sc, zone: sc.Zone.Name, cut: map[string]cutState{}, made: &s.made, zskTags: map[uint16]bool{}}
	if sc.Zone.Params != nil {
		j.params = *sc.Zone.Params
	} else {
		j.params = DefaultParams()
	}
	if j.params.Validity <= 0 {
		j.params.Validity = DefaultValidity
	}
	var err error
	if j.saltBytes, err = hex.DecodeString(j.params.Salt); err != nil {
		return fmt.Errorf("zone %s: NSEC3 salt %q is not hex: %w", j.zone, j.params.Salt, err)
	}
	j.salt = strings.ToUpper(j.params.Salt)
	if j.salt == "" {
		j.salt = "-"
	}
	if err := j.pickKeys(s, sc.Keys); err != nil {
		return err
	}
	if len(j.zsks) == 0 || len(j.ksks) == 0 {
		// Keys and signatures must always cover the zone.
		return fmt.Errorf("zone %s has no active signing key for every role (run dms dnssec keys %s)", j.zone, strings.TrimSuffix(j.zone, "."))
	}
	// Signatures start an hour back (clock skew) from the hour of the
	// commit: the same commit time gives the same window.
	j.inception = sc.Now.Truncate(time.Hour).Add(-time.Hour)
	soa, err := sc.RRset(j.zone, dns.TypeSOA)
	if err != nil || len(soa) != 1 {
		return fmt.Errorf("zone %s: no SOA to sign", j.zone)
	}
	s0 := soa[0].(*dns.SOA)
	j.soaMin = min(s0.Hdr.Ttl, s0.Minttl)

	// The apex records that follow from the keys and parameters.
	if err := j.putApex(); err != nil {
		return err
	}
	var err2 error
	switch {
	case sc.Full:
		err2 = j.signAll()
	case sc.Resign:
		return j.resign()
	default:
		err2 = j.signChanged()
	}
	if err2 != nil {
		return err2
	}
	// The soonest expiry only moves up when the re-signer renews the
	// oldest signatures; new ones are later. Keep the earlier of the two.
	if !j.minExp.IsZero() && (sc.Zone.SigExpiry.IsZero() || sc.Full || j.minExp.Before(sc.Zone.SigExpiry)) {
		sc.Zone.SigExpiry = j.minExp
	}
	return nil
}

// maxResign bounds the RRsets one re-signing commit renews, so secondaries
// get a steady trickle of small IXFRs, never the whole zone at once.
const maxResign = 5000

// pickKeys sorts the zone's keys into the DNSKEY RRset and the signing
// sets (RFC 7583, RFC 6781 section 4.1.4):
//   - every key not removed is published;
//   - data RRsets are signed, per algorithm, by that algorithm's active
//     ZSK-role keys (zsk, csk), or when it has none by its published and
//     retired ones: a zone has signatures of every algorithm in its DNSKEY
//     RRset (RFC 4035 section 2.2), which an algorithm rollover needs;
//   - the DNSKEY, CDS and CDNSKEY RRsets by every SEP key (ksk, csk) not
//     removed, so validators holding the old or the new DS during a KSK
//     rollover both find a chain.
func (j *job) pickKeys(s *Signer, keys []zonedb.DNSSECKey) error {
	type pk struct {
		meta zonedb.DNSSECKey
		key  *Key
	}
	var all []pk
	activeZSK := map[uint8]bool{}
	for _, dk := range keys {
		if dk.State == "removed" {
			continue
		}
		k, err := s.parse(dk)
		if err != nil {
			return err
		}
		all = append(all, pk{dk, k})
		j.dnskeys = append(j.dnskeys, k.DNSKEY)
		if dk.State == "active" && dk.Role != "ksk" {
			activeZSK[dk.Algorithm] = true
		}
	}
	for _, p := range all {
		if p.meta.Role != "zsk" {
			j.ksks = append(j.ksks, p.key)
			if p.meta.State == "published" || p.meta.State == "active" {
				j.cds = append(j.cds, p.key)
			}
		}
		if p.meta.Role == "ksk" {
			continue
		}
		if p.meta.State == "active" || !activeZSK[p.meta.Algorithm] {
			j.zsks = append(j.zsks, p.key)
			j.zskTags[p.key.Tag()] = true
		}
	}
	return nil
}

// putApex writes the DNSKEY RRset (and NSEC3PARAM) when they differ.
func (j *job) putApex() error {
	ttl := j.soaMin
	if soa, _ := j.sc.RRset(j.zone, dns.TypeSOA); len(soa) == 1 {
		ttl = soa[0].Header().Ttl
	}
	keys := make([]dns.RR, len(j.dnskeys))
	for i, k := range j.dnskeys {
		c := dns.Copy(k).(*dns.DNSKEY)
		c.Hdr.Name, c.Hdr.Ttl = j.zone, ttl
		keys[i] = c
	}
	if err := j.putIfChanged(j.zone, dns.TypeDNSKEY, keys); err != nil {
		return err
	}
	var cds, cdnskey []dns.RR
	for _, k := range j.cds {
		c, err := CDS(k, dns.SHA256, ttl)
		if err != nil {
			return err
		}
		c.Hdr.Name = j.zone
		cds = append(cds, c)
		ck := CDNSKEY(k, ttl)
		ck.Hdr.Name = j.zone
		cdnskey = append(cdnskey, ck)
	}
	if err := j.putIfChanged(j.zone, dns.TypeCDS, cds); err != nil {
		return err
	}
	if err := j.putIfChanged(j.zone, dns.TypeCDNSKEY, cdnskey); err != nil {
		return err
	}
	var param []dns.RR
	if j.params.NSEC3 {
		flags := uint8(0)
		param = []dns.RR{&dns.NSEC3PARAM{Hdr: dns.RR_Header{Name: j.zone, Rrtype: dns.TypeNSEC3PARAM, Class: dns.ClassINET},
			Hash: dns.SHA1, Flags: flags, Iterations: j.params.Iterations, SaltLength: uint8(len(j.params.Salt) / 2), Salt: j.salt}}
		if j.params.Salt == "" {
			param[0].(*dns.NSEC3PARAM).Salt = ""
		}
	}
	return j.putIfChanged(j.zone, dns.TypeNSEC3PARAM, param)
}

// putIfChanged writes an apex RRset the signer owns and records it as
// changed so it gets signed.
func (j *job) putIfChanged(name string, t uint16, rrs []dns.RR) error {
	old, err := j.sc.RRset(name, t)
	if err != nil {
		return err
	}
	if sameRRs(old, rrs) {
		return nil
	}
	if err := j.sc.Put(name, t, rrs); err != nil {
		return err
	}
	j.sc.Changed = append(j.sc.Changed, zonedb.ChangedRRset{Name: name, Type: t, Deleted: len(rrs) == 0})
	return nil
}

func sameRRs(a, b []dns.RR) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		if !slices.ContainsFunc(b, func(y dns.RR) bool { return zonedb.SameRdata(x, y) && x.Header().Ttl == y.Header().Ttl }) {
			return false
		}
	}
	return true
}

// cutOf says whether name is authoritative, a delegation point, or below
// one.
func (j *job) cutOf(name string) (cutState, error) {
	if c, ok := j.cut[name]; ok {
		return c, nil
	}
	state := cutNone
	if name != j.zone {
		parent := parentName(name)
		ps, err := j.cutOf(parent)
		if err != nil {
			return 0, err
		}
		switch ps {
		case cutAt, cutBelow:
			state = cutBelow
		default:
			types, err := j.sc.Types(name)
			if err != nil {
				return 0, err
			}
			if slices.Contains(types, dns.TypeNS) {
				state = cutAt
			}
		}
	}
	j.cut[name] = state
	return state, nil
}

func parentName(name string) string {
	i, end := dns.NextLabel(name, 0)
	if end {
		return "."
	}
	return name[i:]
}

// signedType reports whether the RRset name/t gets RRSIGs.
func (j *job) signedType(name string, t uint16) (bool, error) {
	if t == dns.TypeRRSIG {
		return false, nil
	}
	c, err := j.cutOf(name)
	if err != nil {
		return false, err
	}
	switch c {
	case cutBelow:
		return false, nil // glue and occluded data
	case cutAt:
		return t == dns.TypeDS, nil // the child's NS are not ours to sign
	}
	return true, nil
}

// expiration is the end of the validity window of an RRset: the validity
// less a jitter of up to a tenth of it, fixed per owner and type, so the
// zone's signatures do not all come due at once.
func (j *job) expiration(name string, t uint16) time.Time {
	h := fnv.New32a()
	h.Write([]byte(name))
	h.Write([]byte{byte(t >> 8), byte(t)})
	span := j.params.Validity / 10
	jitter := time.Duration(0)
	if span > time.Hour {
		jitter = time.Duration(uint64(h.Sum32())%uint64(span/time.Hour)) * time.Hour
	}
	return j.inception.Add(time.Hour + j.params.Validity - jitter)
}

// sigTask is one RRset to sign.
type sigTask struct {
	name string
	t    uint16
	rrs  []dns.RR
	sigs []dns.RR
	err  error
}

// signTasks makes the RRSIGs of tasks, on every core.
func (j *job) signTasks(tasks []sigTask) error {
	workers := min(runtime.GOMAXPROCS(0), max(1, len(tasks)/64))
	var wg sync.WaitGroup
	next := make(chan int, len(tasks))
	for i := range tasks {
		next <- i
	}
	close(next)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := &tasks[i]
				keys := j.zsks
				if t.t == dns.TypeDNSKEY || t.t == dns.TypeCDS || t.t == dns.TypeCDNSKEY {
					keys = j.ksks
				}
				exp := j.expiration(t.name, t.t)
				j.mu.Lock()
				if j.minExp.IsZero() || exp.Before(j.minExp) {
					j.minExp = exp
				}
				j.mu.Unlock()
				for _, k := range keys {
					sig, err := Sign(k, t.rrs, j.inception, exp)
					if err != nil {
						t.err = fmt.Errorf("%s %s: %w", t.name, dns.TypeToString[t.t], err)
						break
					}
					t.sigs = append(t.sigs, sig)
					j.made.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for i := range tasks {
		if tasks[i].err != nil {
			return tasks[i].err
		}
	}
	return nil
}

// writeSigs replaces, at each task's owner, the RRSIGs covering its type.
func (j *job) writeSigs(tasks []sigTask, deleted map[string][]uint16) error {
	return j.writeSigsMode(tasks, deleted, false)
}

// writeSigsMode is writeSigs; with only, an owner's RRSIGs become exactly
// its tasks' (whole-zone signing: signatures of RRsets gone or no longer
// signed, such as below a new cut, go).
func (j *job) writeSigsMode(tasks []sigTask, deleted map[string][]uint16, only bool) error {
	byName := map[string][]int{}
	var names []string
	for i, t := range tasks {
		if _, ok := byName[t.name]; !ok {
			names = append(names, t.name)
		}
		byName[t.name] = append(byName[t.name], i)
	}
	for n := range deleted {
		if _, ok := byName[n]; !ok {
			names = append(names, n)
			byName[n] = nil
		}
	}
	for _, n := range names {
		old, err := j.sc.RRset(n, dns.TypeRRSIG)
		if err != nil {
			return err
		}
		drop := map[uint16]bool{}
		for _, i := range byName[n] {
			drop[tasks[i].t] = true
		}
		for _, t := range deleted[n] {
			drop[t] = true
		}
		var sigs []dns.RR
		for _, rr := range old {
			if !only && !drop[rr.(*dns.RRSIG).TypeCovered] {
				sigs = append(sigs, rr)
			}
		}
		for _, i := range byName[n] {
			sigs = append(sigs, tasks[i].sigs...)
		}
		if err := j.sc.Put(n, dns.TypeRRSIG, sigs); err != nil {
			return err
		}
	}
	return nil
}

// signAll signs every RRset and rebuilds the NSEC3 chain.
func (j *job) signAll() error {
	var tasks []sigTask
	flush := func() error {
		if len(tasks) == 0 {
			return nil
		}
		if err := j.signTasks(tasks); err != nil {
			return err
		}
		if err := j.writeSigsMode(tasks, nil, true); err != nil {
			return err
		}
		tasks = tasks[:0]
		return nil
	}
	names, stale, err := j.allNames()
	if err != nil {
		return err
	}
	for _, ni := range names {
		if tasks, err = j.nameTasks(ni, tasks); err != nil {
			return err
		}
		// Batches end at a name: an owner's signatures are written at once.
		if len(tasks) >= 4096 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	for _, n := range stale {
		if err := j.sc.Put(n, dns.TypeRRSIG, nil); err != nil {
			return err
		}
		if err := j.sc.Put(n, dns.TypeNSEC, nil); err != nil {
			return err
		}
	}
	if !j.params.NSEC3 {
		return j.rebuildNSEC(names)
	}
	return j.rebuildChain(names)
}

// allNames lists the zone's names with their data types, and the names
// holding only signatures (their data went: stale).
func (j *job) allNames() (names []nameInfo, stale []string, err error) {
	err = j.sc.Names(func(name string, types []uint16) bool {
		data := slices.DeleteFunc(slices.Clone(types), func(t uint16) bool {
			return t == dns.TypeRRSIG || t == dns.TypeNSEC || t == dns.TypeNSEC3
		})
		if len(data) == 0 {
			stale = append(stale, name)
			return true
		}
		names = append(names, nameInfo{name: name, types: data, sigs: slices.Contains(types, dns.TypeRRSIG)})
		return true
	})
	return names, stale, err
}

// nameTasks adds the signing tasks of one name's RRsets; a name with
// nothing left to sign (now below a cut) loses its old signatures.
func (j *job) nameTasks(ni nameInfo, tasks []sigTask) ([]sigTask, error) {
	signed := false
	for _, t := range ni.types {
		if t == dns.TypeNSEC {
			continue // the chain is rebuilt and signed below
		}
		ok, err := j.signedType(ni.name, t)
		if err != nil {
			return tasks, err
		}
		if !ok {
			continue
		}
		rrs, err := j.sc.RRset(ni.name, t)
		if err != nil {
			return tasks, err
		}
		if len(rrs) == 0 {
			continue
		}
		tasks = append(tasks, sigTask{name: ni.name, t: t, rrs: rrs})
		signed = true
	}
	if !signed && ni.sigs {
		if err := j.sc.Put(ni.name, dns.TypeRRSIG, nil); err != nil {
			return tasks, err
		}
	}
	return tasks, nil
}

// signChanged signs the RRsets the commit changed and mends the chain.
func (j *job) signChanged() error {
	seen := map[string]bool{}
	var tasks []sigTask
	deleted := map[string][]uint16{}
	touched := map[string]bool{}
	cutChanged := false
	for _, ch := range j.sc.Changed {
		touched[ch.Name] = true
		if ch.Type == dns.TypeNS && ch.Name != j.zone {
			cutChanged = true
		}
		k := ch.Name + "/" + dns.TypeToString[ch.Type]
		if seen[k] {
			continue
		}
		seen[k] = true
		rrs, err := j.sc.RRset(ch.Name, ch.Type)
		if err != nil {
			return err
		}
		ok, err := j.signedType(ch.Name, ch.Type)
		if err != nil {
			return err
		}
		if len(rrs) == 0 || !ok {
			deleted[ch.Name] = append(deleted[ch.Name], ch.Type)
			continue
		}
		tasks = append(tasks, sigTask{name: ch.Name, t: ch.Type, rrs: rrs})
	}
	if cutChanged {
		// A delegation came or went: what is signed below it changes.
		// Re-sign the whole zone (rare, and correct).
		return j.signAll()
	}
	if moved, err := j.denialTTLMoved(); err != nil {
		return err
	} else if moved {
		// Every NSEC3 (or NSEC) record's TTL is min(SOA TTL, MINIMUM)
		// (RFC 9077): the SOA change moved it, so the chain is made and
		// signed again (rare, and correct).
		return j.signAll()
	}
	if err := j.signTasks(tasks); err != nil {
		return err
	}
	if err := j.writeSigs(tasks, deleted); err != nil {
		return err
	}
	if !j.params.NSEC3 {
		var names []string
		for n := range touched {
			names = append(names, n)
		}
		return j.mendNSEC(names)
	}
	// The names whose NSEC3 may change: the touched ones and their
	// ancestors (empty non-terminals come and go with their children).
	var names []string
	seenName := map[string]bool{}
	for n := range touched {
		for x := n; ; x = parentName(x) {
			if seenName[x] {
				break
			}
			seenName[x] = true
			names = append(names, x)
			if x == j.zone || x == "." {
				break
			}
		}
	}
	slices.Sort(names)
	return j.mendChain(names)
}

// denialTTLMoved says whether the zone's denial records carry another TTL
// than min(SOA TTL, MINIMUM), as after a commit that changed the SOA's TTL
// or MINIMUM. The apex always has its NSEC3 (or NSEC) record.
func (j *job) denialTTLMoved() (bool, error) {
	var rrs []dns.RR
	if j.params.NSEC3 {
		h, err := j.hash(j.zone)
		if err != nil {
			return false, err
		}
		if rrs, err = j.sc.NSEC3(h); err != nil {
			return false, err
		}
	} else {
		var err error
		if rrs, err = j.sc.RRset(j.zone, dns.TypeNSEC); err != nil {
			return false, err
		}
	}
	return len(rrs) > 0 && rrs[0].Header().Ttl != j.soaMin, nil
}

// nameInfo is an owner name with its data types (and whether it has
// signatures).
type nameInfo struct {
	name  string
	types []uint16
	sigs  bool
}

func b32decode(s string) ([]byte, error) {
	return b32.DecodeString(strings.ToUpper(s))
}

func b32encode(b []byte) string { return b32.EncodeToString(b) }
