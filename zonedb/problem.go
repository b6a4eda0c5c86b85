package zonedb

import (
	"fmt"
	"strings"
)

// Severity says whether a Problem blocks a commit.
type Severity int

const (
	// SevError blocks the commit.
	SevError Severity = iota
	// SevWarning is shown to the committer but does not block.
	SevWarning
)

func (s Severity) String() string {
	if s == SevWarning {
		return "warning"
	}
	return "error"
}

// MarshalText makes Severity print as "error"/"warning" in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is the inverse of MarshalText.
func (s *Severity) UnmarshalText(b []byte) error {
	switch string(b) {
	case "warning":
		*s = SevWarning
	case "error":
		*s = SevError
	default:
		return fmt.Errorf("unknown severity %q", b)
	}
	return nil
}

// Problem is one finding of a zone check or of the zone text parser, with a
// stable code (for scripts and the API), a place and a message.
type Problem struct {
	Severity Severity `json:"severity"`
	Code     string   `json:"code"`
	Pos      Pos      `json:"pos"`
	Name     string   `json:"name,omitempty"` // owner name, when it is about a record
	Type     string   `json:"type,omitempty"` // RR type, when it is about a record
	Message  string   `json:"message"`
}

func (p Problem) String() string {
	var b strings.Builder
	if p.Pos.IsValid() || p.Pos.File != "" {
		b.WriteString(p.Pos.String())
		b.WriteString(": ")
	}
	b.WriteString(p.Severity.String())
	b.WriteString(": ")
	if p.Name != "" {
		b.WriteString(p.Name)
		if p.Type != "" {
			b.WriteString(" ")
			b.WriteString(p.Type)
		}
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is a list of findings. As an error it is the list of errors in it.
type Problems []Problem

// Errors returns the blocking problems.
func (ps Problems) Errors() Problems { return ps.bySeverity(SevError) }

// Warnings returns the non-blocking problems.
func (ps Problems) Warnings() Problems { return ps.bySeverity(SevWarning) }

func (ps Problems) bySeverity(sev Severity) Problems {
	var out Problems
	for _, p := range ps {
		if p.Severity == sev {
			out = append(out, p)
		}
	}
	return out
}

// HasErrors reports whether any problem blocks a commit.
func (ps Problems) HasErrors() bool {
	for _, p := range ps {
		if p.Severity == SevError {
			return true
		}
	}
	return false
}

// Error lists every problem, one per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}
