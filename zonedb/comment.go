package zonedb

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// Comment is what zone text says about one RRset besides its records: the
// ";|" (group) and ";#" (record) comment lines written above it, and the
// ";#" comments at the end of its records' lines, as the system dms
// replaces kept them. An admin who edits a commented zone gets the comments
// back in the same place (zonefile prints them before the RRset).
//
// Comments live in a bucket of their own, keyed like the RRset: queries and
// transfers never read them, and they are not DNS data, so they have no
// serial and are in no instance's diff. A commit that removes an RRset
// removes its comment; only a new zone text (ZoneChange.SetComments)
// changes the rest.
type Comment struct {
	// Name and Type are the RRset's owner (absolute) and type.
	Name string `json:"-"`
	Type uint16 `json:"-"`
	// Lines are the comment lines above the RRset, each from its ';' on
	// (";| Mail servers"), in the order of the text.
	Lines []string `json:"lines,omitempty"`
	// Trailing are the comments at the end of record lines.
	Trailing []TrailingComment `json:"trailing,omitempty"`
}

// TrailingComment is the comment at the end of one record's line (";#
// primary"); the record is named by its RDATA, uncompressed wire form.
type TrailingComment struct {
	RDATA []byte `json:"rdata"`
	Text  string `json:"text"`
}

// SetTrailing keeps text as the comment at the end of rr's line; a second
// one for the same record is added to the first.
func (c *Comment) SetTrailing(rr dns.RR, text string) error {
	rd, _, err := rdataOf(nil, rr)
	if err != nil {
		return err
	}
	for i := range c.Trailing {
		if bytes.Equal(c.Trailing[i].RDATA, rd) {
			c.Trailing[i].Text += " " + text
			return nil
		}
	}
	c.Trailing = append(c.Trailing, TrailingComment{RDATA: rd, Text: text})
	return nil
}

// TrailingOf is the comment at the end of rr's line ("" when none).
func (c *Comment) TrailingOf(rr dns.RR) string {
	if len(c.Trailing) == 0 {
		return ""
	}
	rd, _, err := rdataOf(nil, rr)
	if err != nil {
		return ""
	}
	for _, t := range c.Trailing {
		if bytes.Equal(t.RDATA, rd) {
			return t.Text
		}
	}
	return ""
}

// IsEmpty reports whether c says nothing.
func (c *Comment) IsEmpty() bool { return len(c.Lines) == 0 && len(c.Trailing) == 0 }

// checkCommentText refuses comment text that would not read back as the
// same comment: it must start with ";|" or ";#" (other text would be read
// as data, or as ";!" flags) and stay on one line (a newline would let a
// comment carry records into the next edit of the zone).
func checkCommentText(s string) error {
	if !strings.HasPrefix(s, ";|") && !strings.HasPrefix(s, ";#") || strings.ContainsAny(s, "\n\r") {
		return fmt.Errorf("%w: comment %q must be one line starting with ';|' or ';#'", ErrBadInput, s)
	}
	return nil
}

// encodeComment checks c and returns its key and value in zone z.
func encodeComment(z *Zone, c *Comment) (key, val []byte, err error) {
	if !dns.IsSubDomain(z.Name, dns.CanonicalName(c.Name)) {
		return nil, nil, fmt.Errorf("%w: comment for %s, which is outside zone %s", ErrBadInput, c.Name, z.Name)
	}
	for _, l := range c.Lines {
		if err := checkCommentText(l); err != nil {
			return nil, nil, err
		}
	}
	for _, t := range c.Trailing {
		if err := checkCommentText(t.Text); err != nil {
			return nil, nil, err
		}
	}
	key, err = AppendRRsetKey(nil, z.ID, c.Name, z.Name, c.Type)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadInput, err)
	}
	val, err = json.Marshal(c)
	return key, val, err
}

// Comments returns the zone's comments in canonical RRset order.
func (v *View) Comments(z *Zone) ([]Comment, error) {
	b := v.tx.Bucket(bucketComments)
	if b == nil {
		return nil, nil // a store from before comments were kept, opened read-only
	}
	var out []Comment
	prefix := be64(z.ID)
	c := b.Cursor()
	for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
		cm, err := decodeComment(z, k, val)
		if err != nil {
			return nil, err
		}
		out = append(out, cm)
	}
	return out, nil
}

func decodeComment(z *Zone, k, val []byte) (Comment, error) {
	var cm Comment
	_, nk, t, ok := SplitRRsetKey(k)
	if !ok {
		return cm, fmt.Errorf("zone %s: corrupt comment key %x", z.Name, k)
	}
	name, err := DecodeNameKey(nk, z.Name)
	if err != nil {
		return cm, err
	}
	if err := json.Unmarshal(val, &cm); err != nil {
		return cm, fmt.Errorf("zone %s: corrupt comment of %s: %w", z.Name, name, err)
	}
	cm.Name, cm.Type = name, t
	return cm, nil
}

// setComments makes comments the zone's comments (a new zone text), after
// its records are written: a comment whose RRset is not in the zone (the
// signer's records of a signed zone, which text does not set) is dropped.
// It reports whether anything changed, so an edit of comments alone is
// saved and said to be.
func (t *Txn) setComments(z *Zone, comments []Comment) (bool, error) {
	b, rrb := t.tx.Bucket(bucketComments), t.rrb
	want := make(map[string][]byte, len(comments))
	for i := range comments {
		if comments[i].IsEmpty() {
			continue
		}
		k, v, err := encodeComment(z, &comments[i])
		if err != nil {
			return false, err
		}
		if rrb.Get(k) != nil {
			want[string(k)] = v
		}
	}
	// Compare with what is stored; write after the scan (a cursor does
	// not survive writes to its bucket).
	var gone [][]byte
	prefix := be64(z.ID)
	c := b.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		nv, ok := want[string(k)]
		switch {
		case !ok:
			gone = append(gone, bytes.Clone(k))
		case bytes.Equal(nv, v):
			delete(want, string(k))
		}
	}
	for _, k := range gone {
		if err := t.putComment(z, k, nil); err != nil {
			return false, err
		}
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := t.putComment(z, []byte(k), want[k]); err != nil {
			return false, err
		}
	}
	return len(gone) > 0 || len(keys) > 0, nil
}

// keepComments follows a commit's record changes: the comment of an RRset
// that is gone goes too, and so does the trailing comment of a record gone
// from an RRset that stays. Zones without comments cost one seek.
func (t *Txn) keepComments(z *Zone, changes []rrsetChange) error {
	b := t.tx.Bucket(bucketComments)
	prefix := be64(z.ID)
	if k, _ := b.Cursor().Seek(prefix); k == nil || !bytes.HasPrefix(k, prefix) {
		return nil
	}
	for _, ch := range changes {
		val := b.Get(ch.key)
		if val == nil {
			continue
		}
		if ch.new == nil {
			if err := t.putComment(z, ch.key, nil); err != nil {
				return err
			}
			continue
		}
		if err := t.pruneTrailing(z, ch, val); err != nil {
			return err
		}
	}
	return nil
}

// pruneTrailing drops the trailing comments of records no longer in the
// changed RRset ch, whose comment is val.
func (t *Txn) pruneTrailing(z *Zone, ch rrsetChange, val []byte) error {
	cm, err := decodeComment(z, ch.key, val)
	if err != nil || len(cm.Trailing) == 0 {
		return err
	}
	_, ers, err := decodeEnc(ch.new)
	if err != nil {
		return err
	}
	n := len(cm.Trailing)
	cm.Trailing = slices.DeleteFunc(cm.Trailing, func(t TrailingComment) bool {
		return !slices.ContainsFunc(ers, func(e encRR) bool { return bytes.Equal(e.rdata, t.RDATA) })
	})
	switch {
	case len(cm.Trailing) == n:
		return nil
	case cm.IsEmpty():
		return t.putComment(z, ch.key, nil)
	}
	nv, err := json.Marshal(&cm)
	if err != nil {
		return err
	}
	return t.putComment(z, ch.key, nv)
}
