package zonefile

import (
	"bytes"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"dms/zonedb"
)

// The pre-scan.
//
// miekg/dns's ZoneParser drops comments that stand on their own line and
// does not say where an RR came from, so one pass over the text, before the
// parser sees it, finds every logical record (tracking parentheses, quoted
// strings, escapes and comments the way miekg's lexer does), remembers its
// line and column and the ";!" flags before it, and appends a marker
// comment " ;@N" to the line the record ends on. ZoneParser hands that
// line's comment back with the RR (zp.Comment), so N finds the record's
// entry. Nothing before a line's end changes, so the parser's own
// line:column in errors stay right.
//
// $GENERATE lines are the exception: the pre-scan turns them into comments
// (one byte per line, so columns stay right) and Parse expands each one
// with a ZoneParser of its own, which gives its records the directive's
// position, its flags and the $TTL in force (miekg/dns gives generated
// records a fixed TTL of 3600), and errors in them the directive's line
// (miekg/dns reports them at line 1 of the template).

// MaxTTL is the largest TTL a record may have: RFC 2181 section 8 makes
// the TTL a 31-bit value; a resolver treats a larger one as zero.
const MaxTTL = 1<<31 - 1

// markerPrefix starts the comment the pre-scan appends to the last line of
// each record; the entry number follows it.
const markerPrefix = " ;@"

type entryKind uint8

const (
	kindRecord entryKind = iota
	kindGenerate
	kindInclude
	kindDirective // $TTL, $ORIGIN
)

// entry is one logical record or directive of a text.
type entry struct {
	line, col int32
	kind      entryKind
	flags     zonedb.Flags
	ref       string
}

// generate is a $GENERATE directive and what it needs to be expanded.
type generate struct {
	entry  int
	text   []byte // the directive's lines as written
	origin string // $ORIGIN in force
	ttl    int64  // $TTL in force; -1: none
	hasTTL bool   // the template gives its own TTL
}

// include is a $INCLUDE directive and the state the included text starts
// with.
type include struct {
	entry  int
	origin string // the origin given on the line, or the $ORIGIN in force
	ttl    int64  // $TTL in force; -1: none
}

// source is one zone text (the caller's, or a $INCLUDEd file) after the
// pre-scan.
type source struct {
	name    string // shown in positions
	text    []byte // what the ZoneParser reads
	entries []entry
	gens    []generate
	incs    []include
}

func (s *source) pos(e int) zonedb.Pos {
	return zonedb.Pos{File: s.name, Line: int(s.entries[e].line), Col: int(s.entries[e].col)}
}

// scanState is what a text inherits from the text that includes it.
type scanState struct {
	origin string
	ttl    int64 // $TTL in force; -1: none
}

// pendingFlags are flags read from ";!" lines, waiting for their record.
type pendingFlags struct {
	set   bool
	pos   zonedb.Pos
	flags zonedb.Flags
	ref   string
}

// scan pre-scans text. On an error it returns the error together with the
// source for the text before the logical record the error is in, so the
// caller can parse that part first and report an earlier error if there is
// one: errors come in the order of the text.
func scan(text []byte, name string, st scanState, allowInclude bool) (*source, error) {
	src := &source{name: name}
	// Markers add about ten bytes per record.
	out := make([]byte, 0, len(text)+len(text)/4+64)
	var (
		line     = 1
		depth    = 0
		inQuote  = false
		cur      = -1 // the open entry, -1: none
		curOut   = 0  // len(out) where the open entry's first line starts
		curStart = 0  // offset in text of the open entry's first line
		pend     pendingFlags
	)
	posAt := func(col int) zonedb.Pos { return zonedb.Pos{File: name, Line: line, Col: col} }
	for off := 0; off < len(text); {
		end := len(text)
		if i := bytes.IndexByte(text[off:], '\n'); i >= 0 {
			end = off + i
		}
		ln := text[off:end]
		lineOut := len(out)
		fail := func(err error) (*source, error) {
			if cur >= 0 {
				out = out[:curOut]
				src.entries = src.entries[:cur]
				for len(src.gens) > 0 && src.gens[len(src.gens)-1].entry >= cur {
					src.gens = src.gens[:len(src.gens)-1]
				}
				for len(src.incs) > 0 && src.incs[len(src.incs)-1].entry >= cur {
					src.incs = src.incs[:len(src.incs)-1]
				}
			} else {
				out = out[:lineOut]
			}
			src.text = out
			return src, err
		}

		// Find the first token, the comment and the parentheses.
		first, commentAt := -1, -1
	chars:
		for i := 0; i < len(ln); i++ {
			c := ln[i]
			if inQuote {
				switch c {
				case '\\':
					if err := checkEscape(ln, i, posAt(i+1)); err != nil {
						return fail(err)
					}
					i++
				case '"':
					inQuote = false
				}
				continue
			}
			switch c {
			case ' ', '\t', '\r':
			case '(':
				depth++
			case ')':
				depth--
				if depth < 0 {
					return fail(&Error{Pos: posAt(i + 1), Msg: "')' without '(' before it", Err: dns.ErrRdata})
				}
			case ';':
				commentAt = i
				break chars
			case '\\':
				if first < 0 {
					first = i
				}
				if err := checkEscape(ln, i, posAt(i+1)); err != nil {
					return fail(err)
				}
				i++
			case '"':
				if first < 0 {
					first = i
				}
				inQuote = true
			default:
				if first < 0 {
					first = i
				}
			}
		}

		if first >= 0 && cur < 0 {
			// A new logical record or directive starts here.
			e := entry{line: int32(line), col: int32(first + 1), kind: kindRecord}
			if first == 0 {
				e.kind = directiveKind(ln)
			}
			cur, curOut, curStart = len(src.entries), lineOut, off
			switch e.kind {
			case kindRecord:
				if err := checkLeadTTL(ln, first, posAt); err != nil {
					return fail(err)
				}
			case kindDirective:
				if err := st.directive(ln, posAt); err != nil {
					return fail(err)
				}
			case kindGenerate:
				f := fields(ln)
				src.gens = append(src.gens, generate{entry: cur, origin: st.origin, ttl: st.ttl, hasTTL: generateHasTTL(f)})
			case kindInclude:
				f := fields(ln)
				if !allowInclude {
					return fail(&Error{Pos: posAt(1), Msg: "$INCLUDE is not allowed here: put the included records in the text itself", Err: ErrIncludeNotAllowed})
				}
				if pend.set {
					return fail(&Error{Pos: pend.pos, Msg: "flags before $INCLUDE: put them in the included file, before the record they are for", Err: ErrBadFlag})
				}
				inc := include{entry: cur, origin: st.origin, ttl: st.ttl}
				if len(f) >= 2 {
					if p := f[1]; path.IsAbs(p) || strings.HasPrefix(path.Clean(p), "../") || path.Clean(p) == ".." {
						return fail(&Error{Pos: posAt(1), Msg: fmt.Sprintf("$INCLUDE %s: give a path inside the zone file directory", p), Err: ErrIncludeNotAllowed})
					}
				}
				if len(f) >= 3 {
					if o, ok := absName(f[2], st.origin); ok {
						inc.origin = o
					}
				}
				src.incs = append(src.incs, inc)
			}
			if e.kind == kindRecord || e.kind == kindGenerate {
				if pend.set {
					e.flags, e.ref = pend.flags, pend.ref
					pend = pendingFlags{}
				}
			}
			src.entries = append(src.entries, e)
		}

		// A flag comment: on a record's own line(s) it is for that record,
		// on a line of its own for the next record.
		if commentAt >= 0 && !inQuote && commentAt+1 < len(ln) && ln[commentAt+1] == '!' {
			cpos := posAt(commentAt + 1)
			fl, ref, err := parseFlags(ln[commentAt+2:], cpos)
			if err != nil {
				return fail(err)
			}
			if cur >= 0 {
				e := &src.entries[cur]
				if e.kind != kindRecord && e.kind != kindGenerate {
					return fail(&Error{Pos: cpos, Msg: "flags are for records: put the flag comment on its own line before the record", Err: ErrBadFlag})
				}
				if ref != "" && e.ref != "" && e.ref != ref {
					return fail(&Error{Pos: cpos, Msg: fmt.Sprintf("two references for one record: REF:%s and REF:%s", e.ref, ref), Err: ErrBadFlag})
				}
				e.flags |= fl
				if ref != "" {
					e.ref = ref
				}
			} else {
				if !pend.set {
					pend = pendingFlags{set: true, pos: cpos}
				}
				if ref != "" && pend.ref != "" && pend.ref != ref {
					return fail(&Error{Pos: cpos, Msg: fmt.Sprintf("two references for one record: REF:%s and REF:%s", pend.ref, ref), Err: ErrBadFlag})
				}
				pend.flags |= fl
				if ref != "" {
					pend.ref = ref
				}
			}
		}

		out = append(out, ln...)
		if cur >= 0 && depth == 0 && !inQuote {
			// The open entry ends on this line.
			switch src.entries[cur].kind {
			case kindRecord:
				out = append(out, markerPrefix...)
				out = strconv.AppendInt(out, int64(cur), 10)
			case kindGenerate:
				g := &src.gens[len(src.gens)-1]
				g.text = text[curStart:end]
				// Comment the directive out for the main parser, one
				// byte at the start of each of its lines.
				for i := curOut; i < len(out); i++ {
					if (i == curOut || out[i-1] == '\n') && out[i] != '\n' {
						out[i] = ';'
					}
				}
			}
			cur = -1
		}
		if end < len(text) {
			out = append(out, '\n')
		}
		off = end + 1
		line++
	}
	if pend.set && cur < 0 {
		src.text = out
		return src, &Error{Pos: pend.pos, Msg: "flags with no record after them: put the flag line just before the record it is for", Err: ErrBadFlag}
	}
	src.text = out
	return src, nil
}

// directiveKind tells which directive a line that starts in column 1 is.
// miekg/dns takes $TTL, $ORIGIN, $INCLUDE and $GENERATE (any case) as
// directives only when a blank follows; anything else is an owner name.
func directiveKind(ln []byte) entryKind {
	if len(ln) == 0 || ln[0] != '$' {
		return kindRecord
	}
	i := bytes.IndexAny(ln, " \t")
	if i < 0 {
		return kindRecord
	}
	switch strings.ToUpper(string(ln[:i])) {
	case "$TTL", "$ORIGIN":
		return kindDirective
	case "$INCLUDE":
		return kindInclude
	case "$GENERATE":
		return kindGenerate
	}
	return kindRecord
}

// directive follows $TTL and $ORIGIN. A value miekg/dns will reject is
// left for it to report.
func (st *scanState) directive(ln []byte, posAt func(int) zonedb.Pos) error {
	f := fields(ln)
	if len(f) < 2 {
		return nil
	}
	switch strings.ToUpper(f[0]) {
	case "$TTL":
		v, ok := ttlValue(f[1])
		if !ok {
			return nil
		}
		if v > MaxTTL {
			col := bytes.Index(ln, []byte(f[1])) + 1
			return &Error{Pos: posAt(col), Msg: fmt.Sprintf("$TTL %s is %d, above %d, the largest TTL (RFC 2181 section 8)", f[1], v, MaxTTL), Err: ErrBadRecord}
		}
		st.ttl = v
	case "$ORIGIN":
		if o, ok := absName(f[1], st.origin); ok {
			st.origin = o
		}
	}
	return nil
}

// fields splits a directive line into its blank-separated tokens, up to a
// comment. A backslash escapes the character after it.
func fields(ln []byte) []string {
	var out []string
	start := -1
	for i := 0; i < len(ln); i++ {
		c := ln[i]
		switch {
		case c == '\\':
			if start < 0 {
				start = i
			}
			i++
		case c == ' ' || c == '\t' || c == '\r':
			if start >= 0 {
				out = append(out, string(ln[start:i]))
				start = -1
			}
		case c == ';':
			if start >= 0 {
				out = append(out, string(ln[start:i]))
			}
			return out
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		out = append(out, string(ln[start:]))
	}
	return out
}

// absName makes name absolute the way miekg/dns does ("@" is the origin).
func absName(name, origin string) (string, bool) {
	if name == "@" {
		return origin, origin != ""
	}
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return "", false
	}
	if dns.IsFqdn(name) {
		return name, true
	}
	if origin == "" {
		return "", false
	}
	if origin == "." {
		return name + ".", true
	}
	return name + "." + origin, true
}

// checkEscape validates the escape at ln[i], a backslash. RFC 1035
// section 5.1 allows \X for a non-digit X and \DDD for a decimal octet.
// miekg/dns reads \999 as \231 and \12x as "12x", which silently changes
// the data, and a backslash at the end of a line escapes nothing.
func checkEscape(ln []byte, i int, pos zonedb.Pos) error {
	if i+1 >= len(ln) || i+2 == len(ln) && ln[i+1] == '\r' {
		return &Error{Pos: pos, Msg: "a backslash at the end of a line escapes nothing: remove it, or write \\\\ for a backslash", Err: dns.ErrRdata}
	}
	if !isDigit(ln[i+1]) {
		return nil
	}
	if i+3 >= len(ln) || !isDigit(ln[i+2]) || !isDigit(ln[i+3]) {
		end := i + 2
		for end < len(ln) && end < i+4 && isDigit(ln[end]) {
			end++
		}
		return &Error{Pos: pos, Msg: fmt.Sprintf("bad escape %q: a backslash and a digit start \\DDD, three decimal digits 000 to 255 (RFC 1035 section 5.1)", ln[i:end]), Err: dns.ErrRdata}
	}
	if v := int(ln[i+1]-'0')*100 + int(ln[i+2]-'0')*10 + int(ln[i+3]-'0'); v > 255 {
		return &Error{Pos: pos, Msg: fmt.Sprintf("bad escape %q: \\DDD is an octet, at most \\255 (RFC 1035 section 5.1)", ln[i:i+4]), Err: dns.ErrRdata}
	}
	return nil
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// checkLeadTTL looks at the tokens of a record's first line before its
// type: the owner (when the line starts with one), a TTL, a class. A TTL
// above MaxTTL is an error here, at its column: miekg/dns takes any 32-bit
// TTL and silently wraps one above 2^64.
func checkLeadTTL(ln []byte, first int, posAt func(int) zonedb.Pos) error {
	i := first
	skip := first == 0 // the owner
	for n := 0; n < 4 && i < len(ln); n++ {
		for i < len(ln) && (ln[i] == ' ' || ln[i] == '\t' || ln[i] == '\r' || ln[i] == '(') {
			i++
		}
		start := i
		for i < len(ln) {
			c := ln[i]
			if c == ' ' || c == '\t' || c == '\r' || c == ';' || c == '(' || c == ')' || c == '"' {
				break
			}
			if c == '\\' {
				i++
			}
			i++
		}
		i = min(i, len(ln))
		tok := ln[start:i]
		if len(tok) == 0 {
			return nil
		}
		if skip {
			skip = false
			continue
		}
		if isTypeToken(tok) {
			return nil
		}
		if isDigit(tok[0]) {
			v, ok := ttlValue(string(tok))
			if ok && v > MaxTTL {
				return &Error{Pos: posAt(start + 1), Msg: fmt.Sprintf("TTL %s is %d, above %d, the largest TTL (RFC 2181 section 8)", tok, v, MaxTTL), Err: ErrBadRecord}
			}
		}
	}
	return nil
}

// isTypeToken reports whether tok names an RR type (A, aaaa, TYPE65280).
func isTypeToken(tok []byte) bool {
	var buf [24]byte
	if len(tok) > len(buf) {
		return false
	}
	for i, c := range tok {
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	up := buf[:len(tok)]
	if _, ok := dns.StringToType[string(up)]; ok {
		return true
	}
	if len(up) > 4 && string(up[:4]) == "TYPE" {
		_, err := strconv.ParseUint(string(up[4:]), 10, 16)
		return err == nil
	}
	return false
}

// isClassToken reports whether tok names a class (IN, ch, CLASS3).
func isClassToken(tok string) bool {
	up := strings.ToUpper(tok)
	if _, ok := dns.StringToClass[up]; ok {
		return true
	}
	if len(up) > 5 && up[:5] == "CLASS" {
		_, err := strconv.ParseUint(up[5:], 10, 16)
		return err == nil
	}
	return false
}

// ttlValue reads a TTL as miekg/dns does (seconds, or units as in 1h30m,
// 7d, 2w), without its silent overflow: values above 2^32-1 come back as
// such (capped), with ok true.
func ttlValue(s string) (int64, bool) {
	const limit = 1 << 40
	var total, cur int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case isDigit(c):
			cur = min(cur*10+int64(c-'0'), limit)
			continue
		case c == 's' || c == 'S':
		case c == 'm' || c == 'M':
			cur *= 60
		case c == 'h' || c == 'H':
			cur *= 3600
		case c == 'd' || c == 'D':
			cur *= 86400
		case c == 'w' || c == 'W':
			cur *= 7 * 86400
		default:
			return 0, false
		}
		total = min(total+cur, limit)
		cur = 0
	}
	return min(total+cur, limit), len(s) > 0
}

// generateHasTTL reports whether a $GENERATE template gives its own TTL:
// "$GENERATE range owner [ttl] [class] [ttl] type rdata".
func generateHasTTL(f []string) bool {
	for i := 3; i < len(f) && i < 6; i++ {
		if isTypeToken([]byte(f[i])) {
			return false
		}
		if isClassToken(f[i]) {
			continue
		}
		if _, ok := ttlValue(f[i]); ok {
			return true
		}
	}
	return false
}

// parseFlags reads the text after ";!": flags separated by blanks or
// commas, e.g. "REF:cust42@ISP-NET LOCKPTR".
func parseFlags(b []byte, pos zonedb.Pos) (zonedb.Flags, string, error) {
	var fl zonedb.Flags
	var ref string
	fs := strings.FieldsFunc(string(b), func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' })
	if len(fs) == 0 {
		return 0, "", &Error{Pos: pos, Msg: "empty flag comment \";!\": the flags are REF:reference, LOCKPTR, FORCEREV, TRACKREV and DISABLE", Err: ErrBadFlag}
	}
	for _, f := range fs {
		if len(f) >= 4 && strings.EqualFold(f[:4], "REF:") {
			r := f[4:]
			if !zonedb.ValidReference(r) {
				return 0, "", &Error{Pos: pos, Msg: fmt.Sprintf("bad reference %q in REF: a reference is letters, digits and -_.@, starting with a letter or digit", r), Err: ErrBadFlag}
			}
			if ref != "" && ref != r {
				return 0, "", &Error{Pos: pos, Msg: fmt.Sprintf("two references for one record: REF:%s and REF:%s", ref, r), Err: ErrBadFlag}
			}
			ref = r
			continue
		}
		v, ok := zonedb.FlagByName(f)
		if !ok {
			return 0, "", &Error{Pos: pos, Msg: fmt.Sprintf("unknown flag %q: the flags are REF:reference, LOCKPTR, FORCEREV, TRACKREV and DISABLE", f), Err: ErrBadFlag}
		}
		fl |= v
	}
	return fl, ref, nil
}
