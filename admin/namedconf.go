package admin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// A reader of BIND's named.conf (for dms import bind): its grammar is
// statements of words and quoted strings, each ending in ';', some with a
// block of statements in braces; comments in the C, C++ and shell styles;
// include "file"; statements read in place. The reader keeps that shape
// (confStmt) and leaves the meaning to the importer, so options it does
// not know are passed over and named in the plan, not refused.

// confStmt is one statement: its words before any block, its block, and
// where it was read.
type confStmt struct {
	Words []string
	Block []*confStmt
	// HasBlock tells "x { };" (an empty block) from "x;".
	HasBlock bool
	File     string
	Line     int
}

// Name is the statement's first word, lower case.
func (s *confStmt) Name() string {
	if len(s.Words) == 0 {
		return ""
	}
	return strings.ToLower(s.Words[0])
}

// Arg is word i after the name, or "".
func (s *confStmt) Arg(i int) string {
	if i+1 < len(s.Words) {
		return s.Words[i+1]
	}
	return ""
}

// Find is the first statement of the block called name, or nil.
func (s *confStmt) Find(name string) *confStmt {
	for _, c := range s.Block {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

// Where is file:line.
func (s *confStmt) Where() string { return fmt.Sprintf("%s:%d", s.File, s.Line) }

// confToken is a word, a quoted string, or one of { } ;.
type confToken struct {
	text   string
	quoted bool
	line   int
}

// lexConf splits a named.conf text into tokens, dropping comments.
func lexConf(file, text string) ([]confToken, error) {
	var out []confToken
	line := 1
	for i := 0; i < len(text); {
		c := text[i]
		switch {
		case c == '\n':
			line++
			i++
		case c == ' ' || c == '\t' || c == '\r':
			i++
		case c == '#' || c == '/' && i+1 < len(text) && text[i+1] == '/':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(text) && text[i+1] == '*':
			start := line
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("%s:%d: a /* comment that does not end", file, start)
			}
			line += strings.Count(text[i:i+2+end], "\n")
			i += end + 4
		case c == '{' || c == '}' || c == ';':
			out = append(out, confToken{text: string(c), line: line})
			i++
		case c == '"':
			j := i + 1
			var b strings.Builder
			for j < len(text) && text[j] != '"' {
				if text[j] == '\\' && j+1 < len(text) {
					j++
				}
				if text[j] == '\n' {
					line++
				}
				b.WriteByte(text[j])
				j++
			}
			if j >= len(text) {
				return nil, fmt.Errorf("%s:%d: a quoted string that does not end", file, line)
			}
			out = append(out, confToken{text: b.String(), quoted: true, line: line})
			i = j + 1
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\r\n{};\"#", rune(text[j])) && !(text[j] == '/' && j+1 < len(text) && (text[j+1] == '/' || text[j+1] == '*')) {
				j++
			}
			out = append(out, confToken{text: text[i:j], line: line})
			i = j
		}
	}
	return out, nil
}

// confReader reads a named.conf and its includes.
type confReader struct {
	// base is the directory relative include paths are tried in first
	// (the main file's), then dir (options' directory, once known).
	base, dir string
	depth     int
	files     []string // every file read, for the plan
}

// maxIncludeDepth bounds include nesting (a file including itself).
const maxIncludeDepth = 16

// ReadNamedConf reads the named.conf at path with its includes.
func readNamedConf(path string) ([]*confStmt, *confReader, error) {
	r := &confReader{base: filepath.Dir(path)}
	stmts, err := r.file(path)
	return stmts, r, err
}

func (r *confReader) file(path string) ([]*confStmt, error) {
	if r.depth > maxIncludeDepth {
		return nil, fmt.Errorf("%s: includes nested deeper than %d (a file including itself?)", path, maxIncludeDepth)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r.files = append(r.files, path)
	toks, err := lexConf(path, string(b))
	if err != nil {
		return nil, err
	}
	p := &confParser{file: path, toks: toks}
	stmts, err := p.block(false)
	if err != nil {
		return nil, err
	}
	return r.expand(stmts)
}

// expand reads include statements in place, at every level.
func (r *confReader) expand(stmts []*confStmt) ([]*confStmt, error) {
	var out []*confStmt
	for _, s := range stmts {
		if s.Name() == "include" && !s.HasBlock {
			inc := r.resolve(s.Arg(0))
			r.depth++
			sub, err := r.file(inc)
			r.depth--
			if err != nil {
				return nil, fmt.Errorf("%s: include %q: %w", s.Where(), s.Arg(0), err)
			}
			out = append(out, sub...)
			continue
		}
		if s.Name() == "options" {
			if d := s.Find("directory"); d != nil && r.dir == "" {
				r.dir = d.Arg(0)
			}
		}
		if len(s.Block) > 0 {
			var err error
			if s.Block, err = r.expand(s.Block); err != nil {
				return nil, err
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// resolve finds a relative path beside the main file, else in options'
// directory (named's working directory).
func (r *confReader) resolve(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	if q := filepath.Join(r.base, p); fileExists(q) || r.dir == "" {
		return q
	}
	return filepath.Join(r.dir, p)
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

type confParser struct {
	file string
	toks []confToken
	i    int
}

// block reads statements up to the end (or a '}' when inner).
func (p *confParser) block(inner bool) ([]*confStmt, error) {
	var out []*confStmt
	for {
		if p.i >= len(p.toks) {
			if inner {
				return nil, fmt.Errorf("%s: a { without its }", p.file)
			}
			return out, nil
		}
		t := p.toks[p.i]
		if t.text == "}" && !t.quoted {
			if !inner {
				return nil, fmt.Errorf("%s:%d: a } without its {", p.file, t.line)
			}
			return out, nil
		}
		s, err := p.stmt()
		if err != nil {
			return nil, err
		}
		if s != nil {
			out = append(out, s)
		}
	}
}

// stmt reads one statement: words, perhaps a block, then ';'.
func (p *confParser) stmt() (*confStmt, error) {
	s := &confStmt{File: p.file, Line: p.toks[p.i].line}
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		switch {
		case t.quoted:
			s.Words = append(s.Words, t.text)
		case t.text == ";":
			if len(s.Words) == 0 && !s.HasBlock {
				return nil, nil // a stray ';'
			}
			return s, nil
		case t.text == "{":
			if s.HasBlock {
				return nil, fmt.Errorf("%s:%d: a second block in one statement (a ; missing after the first?)", p.file, t.line)
			}
			block, err := p.block(true)
			if err != nil {
				return nil, err
			}
			p.i++ // the '}'
			s.Block, s.HasBlock = block, true
		case t.text == "}":
			return nil, fmt.Errorf("%s:%d: a ; missing before }", p.file, t.line)
		default:
			if s.HasBlock {
				// Words after a block ("zone x { } in;" does not occur;
				// BIND allows none): a ; is missing.
				return nil, fmt.Errorf("%s:%d: a ; missing after the block that ends before %q", p.file, t.line, t.text)
			}
			s.Words = append(s.Words, t.text)
		}
	}
	return nil, fmt.Errorf("%s:%d: the statement %q does not end with ;", p.file, s.Line, strings.Join(s.Words, " "))
}
