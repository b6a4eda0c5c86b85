package zonefile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dms/zonedb"
)

// ParseOptions tell Parse where the text comes from and what it may do.
type ParseOptions struct {
	// File is the name shown in positions and errors.
	File string
	// Origin is the zone's name; it is the initial $ORIGIN, and every
	// record must be at or below it.
	Origin string
	// DefaultTTL is the TTL of records that give none before any $TTL
	// (RFC 1035 section 5.1 takes the last TTL given; RFC 2308 section 4
	// added $TTL); 0 means 86400.
	DefaultTTL uint32
	// AllowInclude permits $INCLUDE: zone files an admin loads from disk,
	// never text from an editor or the API.
	AllowInclude bool
	// IncludeDir is the directory relative $INCLUDE paths start from; an
	// included file must lie below it.
	IncludeDir string
}

// maxText bounds the zone text Parse reads (a 10 million record zone
// fits).
const maxText = 2 << 30

// maxGenerated bounds the records all the $GENERATE directives of one
// text make together (miekg/dns bounds each directive to 65536). A
// variable so that tests can lower it.
var maxGenerated = 1 << 20

// ParseString parses zone text held in a string; see Parse.
func ParseString(s string, opts ParseOptions) ([]zonedb.Record, error) {
	return parseText([]byte(s), opts)
}

// Parse reads RFC 1035 zone text with the dms flag comments and returns
// its records, each with its flags and position. $ORIGIN, $TTL and
// $GENERATE are read; $INCLUDE only when opts.AllowInclude (records from an
// included file have positions in that file). Parse stops at the first
// error, in the order of the text, and returns it as an *Error with its
// position (with miekg/dns's *dns.ParseError in the chain when miekg found
// it). Besides syntax it rejects records the store must never hold: a class
// other than IN, query and meta types, a TTL above MaxTTL, an owner outside
// the zone. Checks that need the whole zone (CNAME beside other data, the
// apex SOA, glue) are zonedb's.
func Parse(r io.Reader, opts ParseOptions) ([]zonedb.Record, error) {
	text, err := io.ReadAll(io.LimitReader(r, maxText+1))
	if err != nil {
		return nil, &Error{Pos: zonedb.Pos{File: opts.File}, Msg: "read zone text: " + err.Error(), Err: err}
	}
	return parseText(text, opts)
}

// parser is the state of one Parse.
type parser struct {
	opts      ParseOptions
	origin    string
	originKey []byte
	defTTL    uint32
	base      fs.FS // $INCLUDE files are read from here
	stack     []*frame
	out       []zonedb.Record
	generated int
	err       error // met inside a ZoneParser callback ($INCLUDE)
	keyBuf    []byte
	packBuf   []byte
}

// frame is a text being parsed: the caller's at the bottom, $INCLUDEd
// ones above it.
type frame struct {
	src     *source
	fsName  string // the name miekg/dns knows the text by ("" for the caller's)
	nextGen int    // the next of src.gens to expand
	nextInc int    // the next of src.incs to be opened
	// lastTTL is the TTL of the last record read: without $TTL it is the
	// default for the next (RFC 1035 section 5.1), which miekg/dns does
	// not give to $GENERATE.
	lastTTL uint32
	closed  bool // the ZoneParser is done with it
}

func (p *parser) top() *frame { return p.stack[len(p.stack)-1] }

func parseText(text []byte, opts ParseOptions) ([]zonedb.Record, error) {
	whole := zonedb.Pos{File: opts.File}
	if len(text) > maxText {
		return nil, &Error{Pos: whole, Msg: fmt.Sprintf("zone text larger than %d bytes", maxText), Err: ErrTooLarge}
	}
	origin := dns.Fqdn(opts.Origin)
	originKey, err := zonedb.NameKey(origin, "")
	if err != nil {
		return nil, &Error{Pos: whole, Msg: fmt.Sprintf("bad zone name %q", opts.Origin), Err: ErrBadRecord}
	}
	if err := sniffBinary(text, opts.File, false); err != nil {
		return nil, err
	}
	p := &parser{
		opts:      opts,
		origin:    origin,
		originKey: originKey,
		defTTL:    cmp(opts.DefaultTTL, 86400),
		packBuf:   make([]byte, 1<<16+1024),
	}
	src, scanErr := scan(text, opts.File, scanState{origin: origin, ttl: -1}, opts.AllowInclude)
	p.stack = []*frame{{src: src, lastTTL: p.defTTL}}
	p.out = make([]zonedb.Record, 0, len(src.entries))

	zp := dns.NewZoneParser(bytes.NewReader(src.text), origin, "")
	zp.SetDefaultTTL(p.defTTL)
	if opts.AllowInclude {
		p.base = os.DirFS(cmpStr(opts.IncludeDir, "."))
		zp.SetIncludeAllowed(true)
		zp.SetIncludeFS(includeFS{p})
	}
	for rr, ok := zp.Next(); ok && p.err == nil; rr, ok = zp.Next() {
		if p.err = p.settle(); p.err != nil {
			break
		}
		f := p.top()
		e, ok := markerIndex(zp.Comment())
		if !ok || e >= len(f.src.entries) || f.src.entries[e].kind != kindRecord {
			p.err = &Error{Pos: zonedb.Pos{File: f.src.name}, Msg: fmt.Sprintf("internal error: cannot place the record %q", rr.String())}
			break
		}
		if p.err = p.expandGens(f, e, -1); p.err != nil {
			break
		}
		en := &f.src.entries[e]
		if p.err = p.add(rr, f.src.pos(e), en.flags, en.ref); p.err != nil {
			break
		}
		f.lastTTL = rr.Header().Ttl
	}
	if p.err != nil {
		return nil, notZoneText(p.err, text, opts.File)
	}
	if err := zp.Err(); err != nil {
		perr, fsName := p.parseError(err)
		// $GENERATE lines before the error come before it.
		if gerr := p.expandBefore(fsName, perr.Pos.Line); gerr != nil {
			return nil, notZoneText(gerr, text, opts.File)
		}
		return nil, notZoneText(perr, text, opts.File)
	}
	if err := p.settle(); err != nil {
		return nil, err
	}
	if err := p.expandGens(p.top(), len(src.entries), -1); err != nil {
		return nil, notZoneText(err, text, opts.File)
	}
	if scanErr != nil {
		return nil, notZoneText(scanErr, text, opts.File)
	}
	if len(p.out) == 0 {
		return nil, &Error{Pos: whole, Msg: "no records: the text is empty, or has only comments and directives", Err: ErrNoRecords}
	}
	return p.out, nil
}

func cmp(a, b uint32) uint32 {
	if a != 0 {
		return a
	}
	return b
}

func cmpStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// markerIndex reads the entry number from the marker at the end of a
// record's comment.
func markerIndex(comment string) (int, bool) {
	i := len(comment)
	for i > 0 && isDigit(comment[i-1]) {
		i--
	}
	if i == len(comment) || i < 2 || comment[i-2:i] != ";@" || len(comment)-i > 9 {
		return 0, false
	}
	n, err := strconv.Atoi(comment[i:])
	return n, err == nil
}

// settle leaves the $INCLUDEd texts the ZoneParser is done with,
// expanding their last $GENERATE lines.
func (p *parser) settle() error {
	for len(p.stack) > 1 && p.top().closed {
		f := p.top()
		if err := p.expandGens(f, len(f.src.entries), -1); err != nil {
			return err
		}
		p.stack = p.stack[:len(p.stack)-1]
	}
	return nil
}

// expandGens expands the $GENERATE directives of f before entry upto and,
// when beforeLine > 0, before that line.
func (p *parser) expandGens(f *frame, upto, beforeLine int) error {
	for f.nextGen < len(f.src.gens) {
		g := f.src.gens[f.nextGen]
		if g.entry >= upto || beforeLine > 0 && int(f.src.entries[g.entry].line) >= beforeLine {
			break
		}
		f.nextGen++
		if err := p.expand(f, g); err != nil {
			return err
		}
	}
	return nil
}

// expandBefore expands what comes before a ZoneParser error at line of
// the text miekg/dns calls fsName.
func (p *parser) expandBefore(fsName string, line int) error {
	for len(p.stack) > 1 && p.top().closed && p.top().fsName != fsName {
		f := p.top()
		if err := p.expandGens(f, len(f.src.entries), -1); err != nil {
			return err
		}
		p.stack = p.stack[:len(p.stack)-1]
	}
	if f := p.top(); f.fsName == fsName && line > 0 {
		return p.expandGens(f, len(f.src.entries), line)
	}
	return nil
}

// expand reads the records of one $GENERATE with a ZoneParser of its own.
func (p *parser) expand(f *frame, g generate) error {
	en := f.src.entries[g.entry]
	pos := f.src.pos(g.entry)
	ttl := f.lastTTL
	if g.ttl >= 0 {
		ttl = uint32(g.ttl)
	}
	zp := dns.NewZoneParser(bytes.NewReader(g.text), g.origin, "")
	zp.SetDefaultTTL(ttl)
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		p.generated++
		if p.generated > maxGenerated {
			return &Error{Pos: pos, Msg: fmt.Sprintf("$GENERATE makes more than %d records in all: split the zone, or list the records", maxGenerated), Err: ErrBadRecord}
		}
		if !g.hasTTL {
			// miekg/dns gives generated records a TTL of 3600, not the
			// default in force as BIND does.
			rr.Header().Ttl = ttl
		}
		if err := p.add(rr, pos, en.flags, en.ref); err != nil {
			return err
		}
	}
	if err := zp.Err(); err != nil {
		pe, _ := p.parseError(err)
		pe.Pos.File = f.src.name
		pe.Pos.Line += int(en.line) - 1
		if !strings.Contains(pe.Msg, "$GENERATE") {
			// An error in a record the template makes: its column is
			// one in the record, not in the line.
			pe.Pos.Col = int(en.col)
			pe.Msg = "in a record this $GENERATE makes: " + pe.Msg
		}
		return pe
	}
	return nil
}

// add checks a record the ZoneParser read and keeps it.
func (p *parser) add(rr dns.RR, pos zonedb.Pos, flags zonedb.Flags, ref string) error {
	h := rr.Header()
	bad := func(format string, args ...any) error {
		return &Error{Pos: pos, Msg: fmt.Sprintf(format, args...), Err: ErrBadRecord}
	}
	if h.Class != dns.ClassINET {
		return bad("class %s: a zone holds class IN records only", dns.Class(h.Class))
	}
	if msg := notZoneType(h.Rrtype); msg != "" {
		return bad("%s", msg)
	}
	if h.Ttl > MaxTTL {
		return bad("TTL %d is above %d, the largest TTL (RFC 2181 section 8)", h.Ttl, MaxTTL)
	}
	key, err := zonedb.AppendNameKey(p.keyBuf[:0], h.Name, "")
	p.keyBuf = key
	if err != nil {
		return bad("bad owner name %q: %v", h.Name, err)
	}
	if !bytes.HasPrefix(key, p.originKey) {
		return bad("%s is outside the zone %s (a missing or extra trailing dot, or a wrong $ORIGIN?)", h.Name, p.origin)
	}
	// miekg/dns reads some RDATA it cannot write (a name too long with
	// the origin added, more than 65535 octets).
	if _, err := dns.PackRR(rr, p.packBuf, 0, nil, false); err != nil {
		return bad("bad %s record: %v", dns.Type(h.Rrtype), err)
	}
	p.out = append(p.out, zonedb.Record{RR: rr, Flags: flags, Ref: ref, Pos: pos})
	return nil
}

// notZoneType says why an RR type cannot be in a zone, or "" when it can.
func notZoneType(t uint16) string {
	switch {
	case t == 0:
		return "type 0 is reserved (RFC 6895 section 3.1)"
	case t == dns.TypeNULL:
		return "type NULL cannot be in zone text (RFC 1035 section 3.3.10)"
	case t == dns.TypeOPT:
		return "type OPT is an EDNS pseudo-record, not zone data (RFC 6891)"
	case t >= 128 && t <= 255:
		return fmt.Sprintf("type %s is a query or meta type, not zone data (RFC 6895 section 3.1)", dns.Type(t))
	}
	return ""
}

// parseError turns a ZoneParser error into an *Error at its place and
// says which text (by miekg's name for it) it is in.
func (p *parser) parseError(err error) (*Error, string) {
	var own *Error
	if errors.As(err, &own) {
		// Ours, from reading an $INCLUDEd text.
		return own, ""
	}
	msg := err.Error()
	fsName := ""
	if !strings.HasPrefix(msg, "dns: ") {
		if i := strings.Index(msg, ": dns: "); i >= 0 {
			fsName, msg = msg[:i], msg[i+2:]
		}
	}
	msg = strings.TrimPrefix(msg, "dns: ")
	pos := zonedb.Pos{File: p.opts.File}
	for i := len(p.stack) - 1; i >= 0; i-- {
		if p.stack[i].fsName == fsName {
			pos.File = p.stack[i].src.name
			break
		}
	}
	if i := strings.LastIndex(msg, " at line: "); i >= 0 {
		if l, c, ok := strings.Cut(msg[i+len(" at line: "):], ":"); ok {
			pos.Line, _ = strconv.Atoi(l)
			pos.Col, _ = strconv.Atoi(c)
			msg = msg[:i]
		}
	}
	return &Error{Pos: pos, Msg: cleanMessage(msg), Err: err}, fsName
}

// cleanMessage rewords some of miekg/dns's messages.
func cleanMessage(msg string) string {
	what, tok, ok := strings.Cut(msg, ": ")
	if !ok {
		return msg
	}
	t, err := strconv.Unquote(tok)
	if err != nil {
		return msg
	}
	switch {
	case t == what:
		// "unknown RR type: "unknown RR type""
		return what
	case what == "not a TTL" || what == "bad class" || what == "unknown RR type":
		// miekg/dns reads an unknown type where it expects a TTL.
		if looksLikeTypeName(t) {
			return fmt.Sprintf("unknown record type %q (or a misplaced TTL or class); unknown types are written TYPEnnn (RFC 3597)", t)
		}
	}
	return msg
}

// looksLikeTypeName reports whether s could be meant as an RR type name
// that miekg/dns does not know.
func looksLikeTypeName(s string) bool {
	if s == "" || !(s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || isDigit(c) || c == '-') {
			return false
		}
	}
	up := strings.ToUpper(s)
	_, isType := dns.StringToType[up]
	return !isType && !isClassToken(up)
}

// sniffLen is how much of a text is looked at to tell it is not a zone.
const sniffLen = 8192

// sniffBinary rejects binary data: a NUL in the first kilobytes (zone
// text never has one), or, when lenient is false and the text already
// failed to parse, any control character or invalid UTF-8 there.
func sniffBinary(text []byte, file string, strict bool) error {
	head := text[:min(len(text), sniffLen)]
	line, col := 1, 1
	for i := 0; i < len(head); {
		c := head[i]
		bin := c == 0
		n := 1
		if strict && !bin {
			switch {
			case c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != '\v', c == 0x7f:
				bin = true
			case c >= 0x80:
				var r rune
				r, n = decodeRune(head[i:])
				bin = r < 0 && len(head)-i >= 4
			}
		}
		if bin {
			return &Error{Pos: zonedb.Pos{File: file, Line: line, Col: col}, Msg: "binary data: this is not a zone file", Err: ErrNotZoneText}
		}
		if c == '\n' {
			line, col = line+1, 0
		}
		i += n
		col += n
	}
	return nil
}

// notZoneText replaces a parse error by a clearer one when the text is
// plainly something else: binary data, JSON, HTML or XML.
func notZoneText(err error, text []byte, file string) error {
	if errors.Is(err, ErrNotZoneText) {
		return err
	}
	if bin := sniffBinary(text, file, true); bin != nil {
		bin.(*Error).Err = errors.Join(ErrNotZoneText, err)
		return bin
	}
	t := bytes.TrimLeft(text[:min(len(text), sniffLen)], " \t\r\n")
	if len(t) == 0 {
		return err
	}
	var what string
	switch t[0] {
	case '{', '[':
		what = "JSON"
	case '<':
		what = "HTML or XML"
	default:
		return err
	}
	line := 1 + bytes.Count(text[:len(text)-len(t)], []byte("\n"))
	return &Error{
		Pos: zonedb.Pos{File: file, Line: line, Col: 1},
		Msg: fmt.Sprintf("this looks like %s, not a zone file", what),
		Err: errors.Join(ErrNotZoneText, err),
	}
}

// includeFS gives the ZoneParser $INCLUDEd files, pre-scanned like the
// caller's text, and keeps the stack of frames in step with it.
type includeFS struct{ p *parser }

// Open reads and pre-scans an included file.
func (ifs includeFS) Open(name string) (fs.File, error) {
	p := ifs.p
	if err := p.settle(); err != nil {
		p.err = err
		return nil, err
	}
	parent := p.top()
	if parent.nextInc >= len(parent.src.incs) {
		p.err = &Error{Pos: zonedb.Pos{File: parent.src.name}, Msg: "internal error: an $INCLUDE the pre-scan did not see"}
		return nil, p.err
	}
	inc := parent.src.incs[parent.nextInc]
	parent.nextInc++
	if err := p.expandGens(parent, inc.entry, -1); err != nil {
		p.err = err
		return nil, err
	}
	fh, err := p.base.Open(name)
	if err != nil {
		return nil, err // miekg/dns reports it at the $INCLUDE
	}
	defer fh.Close()
	text, err := io.ReadAll(io.LimitReader(fh, maxText+1))
	if err != nil {
		return nil, err
	}
	display := name
	if p.opts.IncludeDir != "" {
		display = filepath.Join(p.opts.IncludeDir, filepath.FromSlash(name))
	}
	if len(text) > maxText {
		p.err = &Error{Pos: zonedb.Pos{File: display}, Msg: fmt.Sprintf("zone text larger than %d bytes", maxText), Err: ErrTooLarge}
		return nil, p.err
	}
	if err := sniffBinary(text, display, false); err != nil {
		p.err = err
		return nil, err
	}
	src, err := scan(text, display, scanState{origin: inc.origin, ttl: inc.ttl}, true)
	if err != nil {
		p.err = err
		return nil, err
	}
	f := &frame{src: src, fsName: name, lastTTL: parent.lastTTL}
	p.stack = append(p.stack, f)
	return &includedFile{Reader: bytes.NewReader(src.text), f: f, name: name}, nil
}

// includedFile is a pre-scanned included text as an fs.File.
type includedFile struct {
	*bytes.Reader
	f    *frame
	name string
}

func (f *includedFile) Stat() (fs.FileInfo, error) { return fileInfo{f}, nil }

func (f *includedFile) Close() error {
	f.f.closed = true
	return nil
}

type fileInfo struct{ f *includedFile }

func (fi fileInfo) Name() string       { return filepath.Base(fi.f.name) }
func (fi fileInfo) Size() int64        { return fi.f.Reader.Size() }
func (fi fileInfo) Mode() fs.FileMode  { return 0o444 }
func (fi fileInfo) ModTime() time.Time { return time.Time{} }
func (fi fileInfo) IsDir() bool        { return false }
func (fi fileInfo) Sys() any           { return nil }
