package zonedb

import (
	"errors"
	"testing"
)

// TestRRIter: the one reader of the encoded RRset format walks what the
// encoder writes, and every way a value can be cut or padded is an error,
// not a short read.
func TestRRIter(t *testing.T) {
	good := appendEncoded(nil, 300, []encRR{{flags: FlagDisable, ref: "r1", rdata: []byte{1, 2}}, {rdata: []byte{3}}, {ref: "x", rdata: nil}})
	it := newRRIter(good)
	var got []string
	for it.next() {
		got = append(got, string(it.ref)+":"+string(rune('0'+len(it.rdata))))
	}
	if it.err != nil || it.ttl != 300 || len(got) != 3 || got[0] != "r1:2" || got[1] != ":1" || got[2] != "x:0" {
		t.Fatalf("walk: %v, ttl %d, err %v", got, it.ttl, it.err)
	}
	if FirstRDATA(good)[0] != 3 || !published(good) {
		t.Error("the DISABLE record is not skipped")
	}
	for name, val := range map[string][]byte{
		"empty":         nil,
		"short header":  good[:5],
		"cut in a head": good[:7],
		"cut in a ref":  good[:9],
		"cut in RDATA":  good[:len(good)-5],
		"trailing":      append(append([]byte(nil), good...), 0),
	} {
		it := newRRIter(val)
		for it.next() {
		}
		if !errors.Is(it.err, errBadValue) {
			t.Errorf("%s: err %v", name, it.err)
		}
		if _, _, err := decodeEnc(val); !errors.Is(err, errBadValue) {
			t.Errorf("%s: decodeEnc err %v", name, err)
		}
		if _, err := RRs(nil, "x.example.org.", 1, val); err == nil {
			t.Errorf("%s: RRs took it", name)
		}
	}
}
