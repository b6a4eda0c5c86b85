// Package zonefile reads and writes zone text: RFC 1035 master files with
// the dms flag comments (";!REF:ref", ";!LOCKPTR", ";!FORCEREV",
// ";!TRACKREV", ";!DISABLE"), which apply to the next record and are kept
// with it in the store, and the group (";|") and record (";#") comments of
// the system dms replaces, kept with the RRset they are written above or
// at the end of (zonedb.Comment). Other comments are dropped.
package zonefile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// ParseOptions tell Parse where the text comes from and what it may do.
type ParseOptions struct {
	// File is the name shown in errors.
	File string
	// Origin is the zone's name (absolute); it is the initial $ORIGIN.
	Origin string
	// DefaultTTL is used for records without a TTL before any $TTL; 0
	// means 86400.
	DefaultTTL uint32
	// AllowInclude permits $INCLUDE (zone files an admin loads from disk;
	// never text from an editor or the API).
	AllowInclude bool
	// IncludeDir is the directory of the zone file (File): relative
	// $INCLUDE paths start from the directory of the file that includes
	// them, so those of File start here. (BIND reads them from its
	// working directory, its "directory" option; dms has none, and a file
	// an admin loads from anywhere must mean the same wherever dms runs.)
	IncludeDir string
	// MaxRecords bounds the records of the text, counted before anything
	// is expanded ($GENERATE lines by their ranges) and again as records
	// come ($INCLUDE files); 0 means no bound. A zone text is what a
	// customer sends: its size must not decide the server's work.
	MaxRecords int
}

// Text is zone text as dms keeps it: the records and the comments that go
// with their RRsets.
type Text struct {
	Records  []zonedb.Record
	Comments []zonedb.Comment
}

// Error is a zone text error with its place. A text with several errors
// gives the first, with the others (in the order of their places) in
// Others.
type Error struct {
	Pos    zonedb.Pos
	Msg    string
	Err    error
	Others []*Error
}

func (e *Error) Error() string {
	s := e.Pos.String() + ": " + e.Msg
	switch len(e.Others) {
	case 0:
		return s
	case 1:
		return s + " (and 1 more error)"
	default:
		return s + fmt.Sprintf(" (and %d more errors)", len(e.Others))
	}
}

// All returns the errors of the text: e and its others.
func (e *Error) All() []*Error { return append([]*Error{e}, e.Others...) }

// Unwrap returns the parser's own error, when there is one.
func (e *Error) Unwrap() error { return e.Err }

// ErrNoRecords: the text holds no records at all.
var ErrNoRecords = errors.New("no records")

// ErrTooManyRecords: the text makes more records than MaxRecords.
var ErrTooManyRecords = errors.New("too many records")

// maxZoneText bounds what Parse reads (a 10 million record zone fits).
const maxZoneText = 2 << 30

// ParseString parses zone text held in a string.
func ParseString(s string, opts ParseOptions) ([]zonedb.Record, error) {
	return Parse(strings.NewReader(s), opts)
}

// Parse reads zone text and returns its records with their flags and
// positions. It stops at the first syntax error, returned as *Error (with
// miekg/dns's *dns.ParseError in its chain when the parser found it).
// Semantic checks (CNAME beside data, missing SOA, ...) are zonedb.Check's.
func Parse(r io.Reader, opts ParseOptions) ([]zonedb.Record, error) {
	t, err := ParseText(r, opts)
	if err != nil {
		return nil, err
	}
	return t.Records, nil
}

// ParseText is Parse that also returns the ";|" and ";#" comments, each
// with the RRset of the record it is written above or at the end of.
// Comment lines with no record after them go with the last record. The
// ";| Apex resource records for ZONE" line that Print writes itself is
// left out, so it does not pile up over edits.
func ParseText(r io.Reader, opts ParseOptions) (*Text, error) {
	text, err := io.ReadAll(io.LimitReader(r, maxZoneText+1))
	if err != nil {
		return nil, &Error{Pos: zonedb.Pos{File: opts.File}, Msg: "read: " + err.Error(), Err: err}
	}
	if len(text) > maxZoneText {
		return nil, &Error{Pos: zonedb.Pos{File: opts.File}, Msg: "zone text larger than 2 GiB"}
	}
	origin := dns.Fqdn(opts.Origin)
	if err := sniffText(text, opts.File); err != nil {
		return nil, err
	}
	var incFS fs.FS
	if opts.AllowInclude {
		incFS = os.DirFS(cmpOr(opts.IncludeDir, "."))
	}
	ttl := opts.DefaultTTL
	if ttl == 0 {
		ttl = 86400
	}
	sc, err := prescan(text, opts.File, origin, incFS, ttl)
	if err != nil {
		return nil, err
	}
	if err := sc.checkCount(opts); err != nil {
		return nil, err
	}
	// A syntax error stops miekg/dns's parser: the entry it is in is
	// blanked out (its lines kept, empty, so that every position stays
	// right) and the text parsed again, until it parses or maxErrors are
	// found. The records' own errors (class, type, outside the zone, bad
	// RDATA) do not stop a pass. So an operator sees every error of a
	// file at once, not one per try.
	var syntax []*Error
	parsed := 0 // bytes parsed so far, over every pass
	for {
		t, errs, serr, err := parsePass(sc, origin, opts, ttl, incFS)
		parsed += len(sc.text)
		if err != nil {
			return nil, err
		}
		if serr == nil {
			if all := collectErrors(sc.errs, syntax, errs); all != nil {
				return nil, all
			}
			if len(t.Records) == 0 {
				return nil, &Error{Pos: zonedb.Pos{File: opts.File}, Msg: "no records: this is not a zone file, or it is empty", Err: ErrNoRecords}
			}
			return t, nil
		}
		syntax = append(syntax, serr)
		if len(sc.errs)+len(syntax) >= maxErrors || !sc.blank(serr.Pos, opts.File) {
			// No second pass can go past this error (in an $INCLUDE
			// file, an $ORIGIN, or too many already): what follows it
			// is not checked.
			return nil, collectErrors(sc.errs, syntax, errs)
		}
		if parsed+len(sc.text) > maxReparse {
			// Each pass reads the whole text again: a large file with
			// many syntax errors stops here rather than take minutes.
			all := collectErrors(sc.errs, syntax, errs)
			all.Others = append(all.Others, &Error{Pos: zonedb.Pos{File: opts.File},
				Msg: fmt.Sprintf("errors after line %d were not looked for (the file is read again after each syntax error, and it is large): fix these and try again", serr.Pos.Line)})
			return nil, all
		}
	}
}

// maxErrors bounds the errors one zone text reports.
const maxErrors = 50

// maxReparse bounds the bytes all the passes over one text read together
// (a variable for the tests); the first pass is always made whole.
var maxReparse = 256 << 20

// collectErrors returns the errors of the text in the order of their
// places, the first with the others in it (Error.Others), or nil when there
// are none. A syntax error on a line the prescan already reported is the
// same mistake seen twice: it goes.
func collectErrors(pre, syntax, records []*Error) *Error {
	preLines := map[string]bool{}
	for _, e := range pre {
		preLines[e.Pos.File+":"+strconv.Itoa(e.Pos.Line)] = true
	}
	seen := map[zonedb.Pos]bool{}
	all := append([]*Error(nil), pre...)
	for _, e := range pre {
		seen[e.Pos] = true
	}
	for _, e := range append(append([]*Error(nil), syntax...), records...) {
		if preLines[e.Pos.File+":"+strconv.Itoa(e.Pos.Line)] || seen[e.Pos] && e.Pos.Line != 0 {
			continue
		}
		seen[e.Pos] = true
		all = append(all, e)
	}
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(a, b *Error) int {
		if a.Pos.File != b.Pos.File {
			return strings.Compare(a.Pos.File, b.Pos.File)
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	if len(all) > maxErrors {
		all = all[:maxErrors]
	}
	first := all[0]
	first.Others = all[1:]
	return first
}

// parsePass parses the prescanned text once: the records, the errors of
// records (which do not stop it), and the syntax error that stopped
// miekg/dns's parser, if one did; err is an error no second pass can get
// past (too many records).
func parsePass(sc *scanned, origin string, opts ParseOptions, ttl uint32, incFS fs.FS) (t *Text, errs []*Error, syntax *Error, err error) {
	// miekg/dns resolves a relative $INCLUDE against the directory of the
	// name it is given: give it the file's own name, as the file system
	// starts at the file's directory (else "zones/incl" would look for
	// zones/zones/inc.txt); nested includes then start from the including
	// file's directory.
	zp := dns.NewZoneParser(bytes.NewReader(sc.text), origin, parserFile(opts))
	zp.SetDefaultTTL(ttl)
	if opts.AllowInclude {
		zp.SetIncludeAllowed(true)
		zp.SetIncludeFS(incFS)
	}
	out := make([]zonedb.Record, 0, len(sc.entries))
	var cs commentSet
	// RRs without a marker come from $GENERATE (a known count) or $INCLUDE
	// (any count), in the order of those directives.
	dq := sc.directives
	last := -1 // the entry the last record came from
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		if len(errs) >= maxErrors {
			return nil, errs, nil, nil
		}
		idx := markerIndex(zp.Comment())
		if idx >= 0 {
			for len(dq) > 0 && dq[0].entry < idx {
				dq = dq[1:]
			}
			last = idx
		} else if nr := sc.nextRecord(last); nr >= 0 && (len(dq) == 0 || nr < dq[0].entry) {
			// A record whose marker miekg/dns read as part of its RDATA:
			// it is the next record entry after the last one seen.
			idx, last = nr, nr
		} else if len(dq) == 0 {
			return nil, nil, nil, &Error{Pos: zonedb.Pos{File: opts.File}, Msg: "internal error: a record without a position"}
		} else {
			idx = dq[0].entry
			last = idx
			if dq[0].ttl >= 0 {
				// miekg/dns gives $GENERATE records its own default TTL
				// (3600), not the $TTL in force, as BIND does.
				rr.Header().Ttl = uint32(dq[0].ttl)
			}
			if dq[0].count > 0 {
				dq[0].count--
				if dq[0].count == 0 {
					dq = dq[1:]
				}
			}
		}
		if opts.MaxRecords > 0 && len(out) >= opts.MaxRecords {
			return nil, nil, nil, tooMany(opts, sc.entries[idx].pos, len(out)+1)
		}
		e := &sc.entries[idx]
		h := rr.Header()
		if h.Class != dns.ClassINET {
			errs = append(errs, &Error{Pos: e.pos, Msg: fmt.Sprintf("class %s is not served; only IN records belong in a zone", dns.ClassToString[h.Class])})
			continue
		}
		switch h.Rrtype {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM:
			errs = append(errs, &Error{Pos: e.pos, Msg: fmt.Sprintf("%s records are made by dms itself when the zone is signed; remove them (zones are loaded unsigned)", dns.TypeToString[h.Rrtype])})
			continue
		}
		if h.Rrtype == 0 || h.Rrtype == dns.TypeANY || h.Rrtype == dns.TypeOPT || h.Rrtype == dns.TypeAXFR || h.Rrtype == dns.TypeIXFR || h.Rrtype == dns.TypeTSIG {
			errs = append(errs, &Error{Pos: e.pos, Msg: fmt.Sprintf("type %s cannot be in a zone", dns.TypeToString[h.Rrtype])})
			continue
		}
		rr, err = rrSane(rr)
		if err == nil && (e.generic || !commonTypes[h.Rrtype]) {
			// miekg/dns fills a known type from "\\#" RDATA leniently
			// (an RT of two bytes gets an empty host): the record must
			// read back from its own presentation form.
			// Rare types get the same check: miekg/dns does not print
			// every one of them back faithfully (X25 loses escapes).
			if again, perr := dns.NewRR(rr.String()); perr != nil || !sameWire(again, rr) {
				err = fmt.Errorf("bad %s record: its RDATA does not make a whole %s that can be written back", dns.TypeToString[h.Rrtype], dns.TypeToString[h.Rrtype])
			}
		}
		if err != nil {
			errs = append(errs, &Error{Pos: e.pos, Msg: err.Error()})
			continue
		}
		h = rr.Header()
		if !dns.IsSubDomain(origin, dns.CanonicalName(h.Name)) {
			errs = append(errs, &Error{Pos: e.pos, Msg: fmt.Sprintf("%s is outside the zone %s (a missing or extra trailing dot?)", h.Name, origin)})
			continue
		}
		if !e.commented {
			// An entry's comments go with its first record ($GENERATE and
			// $INCLUDE make several).
			e.commented = true
			if err := cs.add(rr, e.comment, e.trailing); err != nil {
				errs = append(errs, &Error{Pos: e.pos, Msg: err.Error()})
				continue
			}
		}
		out = append(out, zonedb.Record{RR: rr, Flags: e.flags, Ref: e.ref, Pos: e.pos})
	}
	if err := zp.Err(); err != nil {
		return nil, errs, wrapParseError(err, opts), nil
	}
	return &Text{Records: out, Comments: cs.list}, errs, nil, nil
}

// parserFile is the file name miekg/dns's parser gets: with $INCLUDE, the
// file's base name (see ParseText).
func parserFile(opts ParseOptions) string {
	if !opts.AllowInclude || opts.File == "" {
		return opts.File
	}
	return path.Base(filepath.ToSlash(opts.File))
}

// commentSet gathers the comments of parsed records by RRset.
type commentSet struct {
	list []zonedb.Comment
	idx  map[string]int
}

// add keeps the comment lines above rr and the comments at the end of its
// line(s) with rr's RRset.
func (cs *commentSet) add(rr dns.RR, lines, trailing []string) error {
	if len(lines) == 0 && len(trailing) == 0 {
		return nil
	}
	h := rr.Header()
	key := strings.ToLower(h.Name) + "/" + strconv.Itoa(int(h.Rrtype))
	i, ok := cs.idx[key]
	if !ok {
		if cs.idx == nil {
			cs.idx = map[string]int{}
		}
		i = len(cs.list)
		cs.idx[key] = i
		cs.list = append(cs.list, zonedb.Comment{Name: dns.CanonicalName(h.Name), Type: h.Rrtype})
	}
	c := &cs.list[i]
	c.Lines = append(c.Lines, lines...)
	if len(trailing) > 0 {
		return c.SetTrailing(rr, strings.Join(trailing, " "))
	}
	return nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// rrSane catches RDATA that miekg/dns accepts but that cannot be packed.
func rrSane(rr dns.RR) (dns.RR, error) {
	buf := make([]byte, dns.Len(rr)+64)
	off, err := dns.PackRR(rr, buf, 0, nil, false)
	if err != nil {
		return nil, fmt.Errorf("bad %s record: %v", dns.TypeToString[rr.Header().Rrtype], err)
	}
	// RDATA given in the generic form (RFC 3597) for a known type must
	// decode as that type; miekg/dns would keep a half-filled record that
	// cannot be printed back.
	back, n, err := dns.UnpackRR(buf[:off], 0)
	if err != nil || n != off || back.Header().Rrtype != rr.Header().Rrtype {
		return nil, fmt.Errorf("bad %s record: its RDATA does not decode as %s", dns.TypeToString[rr.Header().Rrtype], dns.TypeToString[rr.Header().Rrtype])
	}
	// Empty RDATA ("\# 0") is valid only for types whose RDATA may be
	// empty; for the others miekg/dns makes a record it cannot print back.
	if _, generic := rr.(*dns.RFC3597); !generic && rdlen(buf[:off]) == 0 {
		switch rr.Header().Rrtype {
		case dns.TypeNULL, dns.TypeAPL, dns.TypeOPT:
		default:
			return nil, fmt.Errorf("empty RDATA for a %s record", dns.TypeToString[rr.Header().Rrtype])
		}
	}
	// A CAA tag is 1 to 15 letters and digits (RFC 8659 section 4.1); an
	// empty one (a $GENERATE line without RDATA makes it) cannot be
	// written back.
	if c, ok := back.(*dns.CAA); ok && !validCAATag(c.Tag) {
		return nil, fmt.Errorf("bad CAA record: the tag %q must be 1 to 15 letters or digits (issue, issuewild, iodef)", c.Tag)
	}
	// The record as decoded from its wire form: what the store will hold,
	// and what prints back as the same record.
	return back, nil
}

func validCAATag(tag string) bool {
	if tag == "" || len(tag) > 15 {
		return false
	}
	for _, c := range tag {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// rdlen reads the RDLENGTH of the one RR packed in msg.
func rdlen(msg []byte) int {
	off := 0
	for off < len(msg) && msg[off] != 0 {
		off += int(msg[off]) + 1
	}
	off += 1 + 8
	if off+2 > len(msg) {
		return -1
	}
	return int(binary.BigEndian.Uint16(msg[off:]))
}

var (
	reParseError = regexp.MustCompile(`dns: (.*) at line: (\d+):(\d+)$`)
	reBadToken   = regexp.MustCompile(`^(not a TTL|unknown RR type|bad class): "(.*)"$`)
	reTypeName   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9-]*$`)
)

// wrapParseError turns miekg's error into an *Error with a position.
func wrapParseError(err error, opts ParseOptions) *Error {
	pe := &Error{Pos: zonedb.Pos{File: opts.File}, Msg: err.Error(), Err: err}
	var dpe *dns.ParseError
	if errors.As(err, &dpe) {
		msg := dpe.Error()
		if i := strings.Index(msg, ": dns: "); i >= 0 && !strings.HasPrefix(msg, "dns: ") {
			pe.Pos.File = errorFile(msg[:i], opts)
		}
		if m := reParseError.FindStringSubmatch(msg); m != nil {
			pe.Msg = m[1]
			pe.Pos.Line, _ = strconv.Atoi(m[2])
			pe.Pos.Col, _ = strconv.Atoi(m[3])
			// miekg/dns reads an unknown type name as a bad TTL or class.
			if t := reBadToken.FindStringSubmatch(pe.Msg); t != nil && reTypeName.MatchString(t[2]) {
				name := strings.ToUpper(t[2])
				_, isType := dns.StringToType[name]
				_, isClass := dns.StringToClass[name]
				if !isType && !isClass {
					pe.Msg = fmt.Sprintf("unknown record type %q (or a misplaced TTL or class)", t[2])
				}
			}
		}
	}
	return pe
}

// errorFile names the file an error of miekg/dns's parser is in: the zone
// file itself, or an included file, whose name is relative to the zone
// file's directory; it is shown from the same place as the zone file.
func errorFile(name string, opts ParseOptions) string {
	if name == parserFile(opts) {
		return opts.File
	}
	if opts.AllowInclude && opts.File != "" {
		return filepath.Join(filepath.Dir(opts.File), filepath.FromSlash(name))
	}
	return name
}

// sniffText rejects input that is plainly not zone text: binary data or
// invalid UTF-8 in the first kilobytes.
// textComment says whether a comment is UTF-8 text without control
// characters other than a tab.
func textComment(c string) bool {
	if !utf8.ValidString(c) {
		return false
	}
	for _, r := range c {
		if r < 0x20 && r != '\t' || r == 0x7f {
			return false
		}
	}
	return true
}

func sniffText(text []byte, file string) error {
	head := text[:min(len(text), 8192)]
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 {
		line := 1 + bytes.Count(head[:len(head)-len(t)], []byte("\n"))
		switch t[0] {
		case '{', '[':
			return &Error{Pos: zonedb.Pos{File: file, Line: line, Col: 1}, Msg: "this looks like JSON, not a zone file"}
		case '<':
			return &Error{Pos: zonedb.Pos{File: file, Line: line, Col: 1}, Msg: "this looks like HTML or XML, not a zone file"}
		}
	}
	line := 1
	for i := 0; i < len(head); {
		c := head[i]
		if c == '\n' {
			line++
		}
		if c == 0 || c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			return &Error{Pos: zonedb.Pos{File: file, Line: line}, Msg: "binary data: this is not a zone file"}
		}
		if c >= 0x80 {
			r, n := utf8.DecodeRune(head[i:])
			// A sequence cut by the end of head is no error, unless head
			// is the whole text.
			if r == utf8.RuneError && n == 1 && (len(head)-i >= utf8.UTFMax || len(head) == len(text)) {
				return &Error{Pos: zonedb.Pos{File: file, Line: line}, Msg: "binary data (not UTF-8): this is not a zone file"}
			}
			i += n
			continue
		}
		i++
	}
	return nil
}

const markerPrefix = ";@@dms:"

// markerIndex finds our position marker in a record's comment.
func markerIndex(comment string) int {
	i := strings.LastIndex(comment, markerPrefix)
	if i < 0 {
		return -1
	}
	n, err := strconv.Atoi(strings.TrimSpace(comment[i+len(markerPrefix):]))
	if err != nil {
		return -1
	}
	return n
}

// commonTypes are the types whose presentation form miekg/dns writes back
// faithfully (the fuzz targets check it); records of other types are
// checked one by one as they are read.
var commonTypes = map[uint16]bool{
	dns.TypeA: true, dns.TypeAAAA: true, dns.TypeNS: true, dns.TypeCNAME: true, dns.TypeSOA: true,
	dns.TypeMX: true, dns.TypeTXT: true, dns.TypeSRV: true, dns.TypePTR: true, dns.TypeCAA: true,
	dns.TypeDS: true, dns.TypeDNSKEY: true, dns.TypeTLSA: true, dns.TypeDNAME: true, dns.TypeSSHFP: true,
}

// sameWire reports whether two RRs pack to the same bytes.
func sameWire(a, b dns.RR) bool {
	if a == nil || b == nil {
		return false
	}
	ba := make([]byte, dns.Len(a)+512)
	bb := make([]byte, dns.Len(b)+512)
	na, err1 := dns.PackRR(a, ba, 0, nil, false)
	nb, err2 := dns.PackRR(b, bb, 0, nil, false)
	return err1 == nil && err2 == nil && bytes.Equal(ba[:na], bb[:nb])
}

// nextRecord is the first record entry after entry i, or -1.
func (sc *scanned) nextRecord(i int) int {
	for j := i + 1; j < len(sc.entries); j++ {
		if sc.entries[j].record {
			return j
		}
	}
	return -1
}

// checkCount refuses a text that makes more records than opts allow,
// summing the record lines and every $GENERATE's range before anything is
// expanded (an $INCLUDE counts as it is read).
func (sc *scanned) checkCount(opts ParseOptions) error {
	if opts.MaxRecords <= 0 {
		return nil
	}
	n := 0
	for _, e := range sc.entries {
		if e.record {
			n++
		}
	}
	for _, d := range sc.directives {
		if d.count > 0 {
			n += d.count
		}
		if n > opts.MaxRecords {
			return tooMany(opts, sc.entries[d.entry].pos, n)
		}
	}
	if n > opts.MaxRecords {
		return tooMany(opts, zonedb.Pos{File: opts.File}, n)
	}
	return nil
}

func tooMany(opts ParseOptions, pos zonedb.Pos, n int) *Error {
	return &Error{Pos: pos, Err: ErrTooManyRecords,
		Msg: fmt.Sprintf("the zone text makes at least %d records (counting $GENERATE ranges), above the limit of %d records per zone", n, opts.MaxRecords)}
}

// directive is a $GENERATE (count: how many RRs it makes) or $INCLUDE
// (count -1: unknown) entry.
type directive struct {
	entry int
	count int
	ttl   int64 // $GENERATE without its own TTL: the $TTL in force; else -1
}

// entry is one logical record or directive of the text.
type entry struct {
	pos   zonedb.Pos
	flags zonedb.Flags
	ref   string
	// generic: the record uses the RFC 3597 "\\#" RDATA form.
	generic bool
	// record: a resource record (not a directive).
	record bool
	// comment: the ";|" and ";#" lines above the entry; trailing: the
	// comments at the end of its line(s); commented: they went with a
	// record already.
	comment   []string
	trailing  []string
	commented bool
}

type scanned struct {
	text       []byte      // the text with markers added
	entries    []entry     // records and directives, in order
	directives []directive // $GENERATE / $INCLUDE entries
	// errs: mistakes the prescan found on single lines (a bad flag, a bad
	// escape, '#' as a comment): reported with the parser's, after it.
	errs []*Error
}

// blank empties the lines of the entry in which a syntax error at pos
// is (its lines stay, so every position after it is still right), for
// the parse to go on past it. It says false when it cannot: the error is
// in another file ($INCLUDE), in no entry, or in an $ORIGIN or $INCLUDE
// (blanking those would make errors of every record after them).
func (sc *scanned) blank(pos zonedb.Pos, file string) bool {
	if pos.File != file || pos.Line <= 0 {
		return false
	}
	i, _ := slices.BinarySearchFunc(sc.entries, pos.Line, func(e entry, line int) int { return e.pos.Line - line })
	if i == len(sc.entries) || sc.entries[i].pos.Line != pos.Line {
		i-- // the error is on a later line of entry i
	}
	if i < 0 {
		return false
	}
	from := sc.entries[i].pos.Line
	if tok := strings.ToUpper(firstToken(sc.line(from))); tok == "$ORIGIN" || tok == "$INCLUDE" {
		return false
	}
	to := pos.Line
	if i+1 < len(sc.entries) {
		to = max(to, sc.entries[i+1].pos.Line-1)
	} else {
		to = max(to, bytes.Count(sc.text, []byte("\n"))+1)
	}
	blanked := false
	line, start := 1, 0
	for start <= len(sc.text) && line <= to {
		end := bytes.IndexByte(sc.text[start:], '\n')
		if end < 0 {
			end = len(sc.text)
		} else {
			end += start
		}
		if line >= from {
			for j := start; j < end; j++ {
				if sc.text[j] != ' ' {
					sc.text[j] = ' '
					blanked = true
				}
			}
		}
		start = end + 1
		line++
	}
	return blanked
}

// addErr notes a prescan error; err is an *Error.
func (sc *scanned) addErr(err error) {
	var e *Error
	if errors.As(err, &e) {
		sc.errs = append(sc.errs, e)
	} else {
		sc.errs = append(sc.errs, &Error{Msg: err.Error()})
	}
}

// line returns line n (from 1) of the scanned text, from its first token.
func (sc *scanned) line(n int) []byte {
	start := 0
	for ; n > 1; n-- {
		i := bytes.IndexByte(sc.text[start:], '\n')
		if i < 0 {
			return nil
		}
		start += i + 1
	}
	end := bytes.IndexByte(sc.text[start:], '\n')
	if end < 0 {
		end = len(sc.text)
	} else {
		end += start
	}
	return bytes.TrimLeft(sc.text[start:end], " \t")
}

// prescan walks the text once: it finds where each record starts, reads
// the ";!" flag comments and the ";|" and ";#" comments (which miekg/dns
// discards), refuses '#' used as a comment, and appends a marker comment
// to the last line of every record so that the RRs miekg returns can be
// matched to their entries. Nothing before a line's end changes, so
// miekg's line:column in errors stay right.
func prescan(text []byte, file, origin string, incFS fs.FS, defTTL uint32) (*scanned, error) {
	curTTL := int64(defTTL)
	sc := &scanned{text: make([]byte, 0, len(text)+len(text)/8)}
	var pendFlags zonedb.Flags
	var pendRef string
	var pendPos zonedb.Pos
	pending := false
	var pendComment []string // ";|" and ";#" lines waiting for their record

	line := 1
	depth := 0
	inQuote := false
	cur := -1 // entry open on this logical line, -1 none
	curIsRecord := false
	lineStart := 0
	for lineStart < len(text) {
		end := bytes.IndexByte(text[lineStart:], '\n')
		if end < 0 {
			end = len(text)
		} else {
			end += lineStart
		}
		ln := text[lineStart:end]
		// Scan the line for its content start, comment and parentheses.
		commentAt := -1
		first := -1
		lineGeneric := false
		for i := 0; i < len(ln); i++ {
			c := ln[i]
			if c == '\\' {
				if err := checkEscape(ln, i, zonedb.Pos{File: file, Line: line, Col: i + 1}); err != nil {
					sc.addErr(err)
				}
			}
			if inQuote {
				switch c {
				case '\\':
					i++
				case '"':
					inQuote = false
				}
				continue
			}
			switch c {
			case '\\':
				if first < 0 {
					first = i
				}
				if i+1 < len(ln) && ln[i+1] == '#' {
					lineGeneric = true
				}
				i++
			case '"':
				inQuote = true
				if first < 0 {
					first = i
				}
			case ';':
				commentAt = i
			case '#':
				if hashComment(ln, i, first < 0) {
					sc.addErr(&Error{Pos: zonedb.Pos{File: file, Line: line, Col: i + 1}, Msg: "'#' is not a comment in zone files; use ';'"})
					// Read on as the comment it was meant to be (the
					// text is ours; nothing is committed).
					ln[i] = ';'
					commentAt = i
					break
				}
				if first < 0 {
					first = i
				}
			case '(':
				depth++
				if first < 0 {
					first = i
				}
			case ')':
				depth--
				if depth < 0 {
					return nil, &Error{Pos: zonedb.Pos{File: file, Line: line, Col: i + 1}, Msg: "')' without '('"}
				}
			case ' ', '\t', '\r':
			default:
				if first < 0 {
					first = i
				}
			}
			if commentAt >= 0 {
				break
			}
		}
		startsEntry := cur < 0 && first >= 0
		if startsEntry {
			pos := zonedb.Pos{File: file, Line: line, Col: first + 1}
			// An owner starts in column 1; a leading blank means "same
			// owner", but the entry still starts at its first token.
			tok := firstToken(ln[first:])
			e := entry{pos: pos}
			isDirective := strings.HasPrefix(tok, "$")
			switch strings.ToUpper(tok) {
			case "$GENERATE":
				d := directive{entry: len(sc.entries), count: generateCount(ln[first:]), ttl: -1}
				if !generateHasTTL(ln[first:]) {
					d.ttl = curTTL
				}
				sc.directives = append(sc.directives, d)
			case "$TTL":
				if f := strings.Fields(string(ln[first:])); len(f) >= 2 {
					if v, ok := ttlValue(f[1]); ok {
						curTTL = v
					}
				}
			case "$INCLUDE":
				sc.directives = append(sc.directives, directive{entry: len(sc.entries), count: -1, ttl: -1})
				{
					if incFS == nil {
						return nil, &Error{Pos: pos, Msg: "$INCLUDE is not allowed here; put the included records in the text itself"}
					}
					if err := checkInclude(incFS, file, ln[first:], pos); err != nil {
						return nil, err
					}
					if pending {
						return nil, &Error{Pos: pendPos, Msg: "flags before $INCLUDE: put them in the included file's records... which dms does not support; flag the records in this file instead"}
					}
				}
			}
			if !isDirective || strings.EqualFold(tok, "$GENERATE") {
				if pending {
					e.flags, e.ref = pendFlags, pendRef
					pending, pendFlags, pendRef = false, 0, ""
				}
			}
			if !isDirective || strings.EqualFold(tok, "$GENERATE") || strings.EqualFold(tok, "$INCLUDE") {
				// Comments go with the records the entry makes ($TTL and
				// $ORIGIN make none: they wait for the next record).
				e.comment, pendComment = pendComment, nil
			}
			cur = len(sc.entries)
			curIsRecord = !isDirective
			e.record = curIsRecord
			sc.entries = append(sc.entries, e)
		}
		if lineGeneric && cur >= 0 {
			sc.entries[cur].generic = true
		}
		// A comment: a flag line, a trailing flag comment, or just a comment.
		if commentAt >= 0 && !inQuote && len(ln) > commentAt+1 && ln[commentAt+1] == '!' {
			cpos := zonedb.Pos{File: file, Line: line, Col: commentAt + 1}
			fl, ref, err := parseFlags(string(ln[commentAt+2:]), cpos)
			if err != nil {
				sc.addErr(err)
			}
			if cur >= 0 && (first >= 0 || depth > 0) {
				// Trailing flags on the record's own line(s).
				e := &sc.entries[cur]
				e.flags |= fl
				if ref != "" {
					e.ref = ref
				}
			} else {
				if !pending {
					pendPos = cpos
				}
				pending = true
				pendFlags |= fl
				if ref != "" {
					pendRef = ref
				}
			}
		}
		if commentAt >= 0 && !inQuote {
			if c := keptComment(ln[commentAt:], origin); c != "" {
				// Kept comments are printed back, possibly at the top of
				// the text where the binary-data check reads: they must
				// be text.
				if !textComment(c) {
					sc.addErr(&Error{Pos: zonedb.Pos{File: file, Line: line, Col: commentAt + 1}, Msg: "a ;| or ;# comment that is not UTF-8 text (or holds control characters): fix or remove it"})
				}
				if cur >= 0 {
					sc.entries[cur].trailing = append(sc.entries[cur].trailing, c)
				} else {
					pendComment = append(pendComment, c)
				}
			}
		}
		// Copy the line, with a marker when a record ends on it. An owner
		// starting with an escaped character ("\ ", "\"", "\(", "\;",
		// "\\", ...) goes as \DDD, the same name: miekg/dns's lexer
		// misreads such an owner on a line after a comment (and every
		// record line here ends with one, the marker).
		if len(ln) >= 2 && ln[0] == '\\' && (ln[1] < '0' || ln[1] > '9') {
			sc.text = append(sc.text, '\\', '0'+ln[1]/100, '0'+ln[1]/10%10, '0'+ln[1]%10)
			ln = ln[2:]
		}
		sc.text = append(sc.text, ln...)
		if cur >= 0 && depth == 0 && !inQuote {
			if curIsRecord {
				sc.text = append(sc.text, ' ')
				if commentAt < 0 {
					sc.text = append(sc.text, ';')
				}
				sc.text = append(sc.text, markerPrefix...)
				sc.text = strconv.AppendInt(sc.text, int64(cur), 10)
			}
			cur = -1
		}
		if end < len(text) {
			sc.text = append(sc.text, '\n')
		}
		lineStart = end + 1
		line++
	}
	if pending {
		return nil, &Error{Pos: pendPos, Msg: "flags with no record after them; put the flag line just before the record it is for"}
	}
	// Comments at the end of the text go with the last record rather than
	// be lost.
	for i := len(sc.entries) - 1; i >= 0 && len(pendComment) > 0; i-- {
		if e := &sc.entries[i]; e.record || makesRecords(sc.directives, i) {
			e.comment = append(e.comment, pendComment...)
			pendComment = nil
		}
	}
	return sc, nil
}

// makesRecords reports whether entry i is a $GENERATE or $INCLUDE.
func makesRecords(ds []directive, i int) bool {
	return slices.ContainsFunc(ds, func(d directive) bool { return d.entry == i })
}

// hashComment reports whether the '#' at ln[i] is meant as a comment, as
// in shell or config files ("www A 192.0.2.1 # web server", "# the web
// servers"): it starts the line's text, or it stands alone between blanks.
// A zone file comment starts with ';' (RFC 1035 section 5.1); miekg/dns
// would read the '#' as data and fail with a message about the data, or
// take the words after it into a TXT record. A '#' inside a name or a
// string ("a#b", "\#", quoted text) is data and passes.
func hashComment(ln []byte, i int, firstOnLine bool) bool {
	blank := func(j int) bool { return j < 0 || j >= len(ln) || ln[j] == ' ' || ln[j] == '\t' || ln[j] == '\r' }
	return firstOnLine || blank(i-1) && blank(i+1)
}

// keptComment returns a ";|" or ";#" comment as it is kept ("" for any
// other comment). Print's own ";| Apex resource records for ZONE" line is
// not kept: it would be printed twice after an edit.
func keptComment(c []byte, origin string) string {
	if len(c) < 2 || c[1] != '|' && c[1] != '#' {
		return ""
	}
	s := strings.TrimRight(string(c), " \t\r")
	if c[1] == '|' && strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(s[2:]), "."), strings.TrimSuffix(apexLine(origin), ".")) {
		return ""
	}
	return s
}

// apexLine is the group comment Print writes above the apex records.
func apexLine(origin string) string { return "Apex resource records for " + origin }

// generateCount is how many RRs "$GENERATE start-stop[/step] ..." makes
// (-1 when the range cannot be read; miekg/dns reports that).
func generateCount(line []byte) int {
	f := strings.Fields(string(line))
	if len(f) < 2 {
		return -1
	}
	rng, step := f[1], 1
	if i := strings.IndexByte(rng, '/'); i >= 0 {
		s, err := strconv.Atoi(rng[i+1:])
		if err != nil || s <= 0 {
			return -1
		}
		rng, step = rng[:i], s
	}
	a, b, ok := strings.Cut(rng, "-")
	if !ok {
		return -1
	}
	start, err1 := strconv.Atoi(a)
	stop, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil || stop < start {
		return -1
	}
	return (stop-start)/step + 1
}

// checkEscape validates the escape at ln[i] (a backslash): RFC 1035
// section 5.1 allows \X for a non-digit X and \DDD with three digits up to
// 255. miekg/dns takes \999 as \231 and \12x as "12x", silently changing
// the data, so those are errors here.
func checkEscape(ln []byte, i int, pos zonedb.Pos) error {
	if i+1 >= len(ln) || ln[i+1] == '\r' && i+2 == len(ln) {
		return &Error{Pos: pos, Msg: "a backslash at the end of a line escapes nothing; write \\\\ for a backslash"}
	}
	if !isDigit(ln[i+1]) {
		return nil
	}
	if i+3 >= len(ln) || !isDigit(ln[i+2]) || !isDigit(ln[i+3]) {
		end := min(len(ln), i+4)
		return &Error{Pos: pos, Msg: fmt.Sprintf("bad escape %q: a backslash and a digit must be \\DDD, three digits 000 to 255 (RFC 1035 section 5.1)", ln[i:end])}
	}
	if v := int(ln[i+1]-'0')*100 + int(ln[i+2]-'0')*10 + int(ln[i+3]-'0'); v > 255 {
		return &Error{Pos: pos, Msg: fmt.Sprintf("bad escape %q: \\DDD must be at most 255 (RFC 1035 section 5.1)", ln[i:i+4])}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// generateHasTTL reports whether a $GENERATE template names its own TTL:
// "$GENERATE range owner [ttl] [class] [ttl] type rdata".
func generateHasTTL(line []byte) bool {
	f := strings.Fields(string(line))
	for i := 3; i < len(f) && i < 6; i++ {
		if _, isType := dns.StringToType[strings.ToUpper(f[i])]; isType {
			return false
		}
		if _, ok := ttlValue(f[i]); ok {
			return true
		}
	}
	return false
}

// ttlValue reads a TTL as zone files write it: seconds, or BIND units
// (1h30m, 7d, 1w).
func ttlValue(s string) (int64, bool) {
	var total, cur int64
	digits := false
	for _, c := range strings.ToLower(s) {
		switch {
		case c >= '0' && c <= '9':
			cur = cur*10 + int64(c-'0')
			digits = true
			if cur > 1<<32 {
				return 0, false
			}
			continue
		case !digits:
			return 0, false
		case c == 's':
		case c == 'm':
			cur *= 60
		case c == 'h':
			cur *= 3600
		case c == 'd':
			cur *= 86400
		case c == 'w':
			cur *= 7 * 86400
		default:
			return 0, false
		}
		total += cur
		cur, digits = 0, false
	}
	if !digits && total == 0 {
		return 0, false
	}
	return total + cur, total+cur <= 1<<32-1
}

func firstToken(b []byte) string {
	i := bytes.IndexAny(b, " \t\r;(")
	if i < 0 {
		return string(b)
	}
	return string(b[:i])
}

// parseFlags reads the text after ";!": flags separated by blanks or
// commas, e.g. "REF:cust42@ISP-NET LOCKPTR".
func parseFlags(s string, pos zonedb.Pos) (zonedb.Flags, string, error) {
	var fl zonedb.Flags
	var ref string
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' })
	if len(fields) == 0 {
		return 0, "", &Error{Pos: pos, Msg: "empty flag comment ';!': give REF:reference, LOCKPTR, FORCEREV, TRACKREV or DISABLE"}
	}
	for i := 0; i < len(fields); i++ {
		f := fields[i]
		if len(f) >= 4 && strings.EqualFold(f[:4], "REF:") {
			r := f[4:]
			if r == "" && i+1 < len(fields) {
				i++
				r = fields[i]
			}
			if !zonedb.ValidReference(r) {
				return 0, "", &Error{Pos: pos, Msg: fmt.Sprintf("bad reference %q in REF: flag: a reference has letters, digits and -_.@, starting with a letter or digit", r)}
			}
			ref = r
			continue
		}
		if strings.EqualFold(f, "REF") && i+1 < len(fields) && strings.HasPrefix(fields[i+1], ":") {
			i++
			r := strings.TrimPrefix(fields[i], ":")
			if !zonedb.ValidReference(r) {
				return 0, "", &Error{Pos: pos, Msg: fmt.Sprintf("bad reference %q in REF: flag", r)}
			}
			ref = r
			continue
		}
		v, ok := zonedb.FlagByName(f)
		if !ok {
			return 0, "", &Error{Pos: pos, Msg: fmt.Sprintf("unknown flag %q: the flags are REF:reference, LOCKPTR, FORCEREV, TRACKREV and DISABLE", f)}
		}
		fl |= v
	}
	return fl, ref, nil
}

// maxIncludeDepth is how deep miekg/dns follows $INCLUDE.
const maxIncludeDepth = 7

// checkInclude refuses flag lines in an included file, and in the files
// it includes: they would be lost. file is the zone file's name, to name
// the included ones from the same place.
func checkInclude(incFS fs.FS, file string, line []byte, pos zonedb.Pos) error {
	return checkIncludeIn(incFS, file, ".", line, pos, 1)
}

// checkIncludeIn checks the $INCLUDE line of a file in dir (relative to
// the zone file's directory, the root of incFS).
func checkIncludeIn(incFS fs.FS, file, dir string, line []byte, pos zonedb.Pos, depth int) error {
	f := strings.Fields(string(line))
	if len(f) < 2 || depth > maxIncludeDepth {
		return nil // miekg reports the missing file name, or the depth
	}
	name := strings.Trim(f[1], `"`)
	if path.IsAbs(name) {
		return &Error{Pos: pos, Msg: "$INCLUDE of an absolute path is not allowed; give a path relative to the zone file"}
	}
	rel := path.Join(dir, name)
	b, err := fs.ReadFile(incFS, rel)
	if err != nil {
		return &Error{Pos: pos, Msg: fmt.Sprintf("$INCLUDE %s: %v", name, err), Err: err}
	}
	shown := filepath.Join(filepath.Dir(file), filepath.FromSlash(rel))
	for i, l := range bytes.Split(b, []byte("\n")) {
		t := bytes.TrimLeft(l, " \t")
		lpos := zonedb.Pos{File: shown, Line: i + 1, Col: len(l) - len(t) + 1}
		if bytes.HasPrefix(t, []byte(";!")) {
			return &Error{Pos: lpos, Msg: "flag comments are not supported in $INCLUDE files; move the flagged records into the zone file"}
		}
		if strings.EqualFold(firstToken(t), "$INCLUDE") {
			if err := checkIncludeIn(incFS, file, path.Dir(rel), t, lpos, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
