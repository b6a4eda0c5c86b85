package zonedb

import (
	"bytes"
	"encoding/binary"

	"math/rand/v2"
	"slices"
	"testing"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// TestNSEC3ChainEnds holds the chain lookups (the query path's NSEC3Find
// and NSEC3Cover, the signer's neighbours) to a brute-force answer over
// chains whose hashes sit at both ends of the hash space: a hash that
// begins with 0xff sorted past the old wrap bound, so a name hashing
// before the first record was covered by the second-to-last record
// instead of the last (RFC 5155 section 7.2: the last NSEC3 of the chain
// covers the names before the first owner and after the last).
// Neighbouring zones and the zone's ordinary names sit around the chain,
// so a lookup that leaves the chain's range shows.
func TestNSEC3ChainEnds(t *testing.T) {
	hashOf := func(first byte, rest uint64) []byte {
		h := make([]byte, 20)
		h[0] = first
		binary.BigEndian.PutUint64(h[1:], rest)
		return h
	}
	chains := map[string][][]byte{
		"ends":         {hashOf(0x00, 0), hashOf(0x00, 7), hashOf(0x80, 1), hashOf(0xff, 3), hashOf(0xff, 0xffffffffffffffff)},
		"last is 0xff": {hashOf(0x10, 1), hashOf(0x20, 1), hashOf(0xff, 5)},
		"all 0xff":     {hashOf(0xff, 1), hashOf(0xff, 2)},
		"one record":   {hashOf(0xff, 9)},
		"one low":      {hashOf(0x00, 9)},
		"no 0xff":      {hashOf(0x01, 1), hashOf(0x7f, 1), hashOf(0xfe, 0xffffffffffffffff)},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for name, chain := range chains {
		t.Run(name, func(t *testing.T) {
			db := openTest(t)
			const zone = 7
			err := db.bolt.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketRR)
				val := appendEncoded(nil, 300, []encRR{{rdata: []byte{1, 0, 0, 0, 0}}})
				// Neighbours: the zones before and after, and names of
				// this zone that sort after the chain.
				for _, id := range []uint64{zone - 1, zone + 1} {
					for _, h := range [][]byte{hashOf(0x00, 0), hashOf(0xff, 0xffffffffffffffff)} {
						if err := b.Put(AppendNSEC3RRsetKey(nil, id, h, dns.TypeNSEC3), val); err != nil {
							return err
						}
					}
				}
				for _, n := range []string{"example.org.", "www.example.org.", "\\255.example.org."} {
					k, err := AppendRRsetKey(nil, zone, n, "example.org.", dns.TypeA)
					if err != nil {
						return err
					}
					if err := b.Put(k, val); err != nil {
						return err
					}
				}
				for _, h := range chain {
					for _, typ := range []uint16{dns.TypeRRSIG, dns.TypeNSEC3} {
						if err := b.Put(AppendNSEC3RRsetKey(nil, zone, h, typ), val); err != nil {
							return err
						}
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sorted := slices.Clone(chain)
			slices.SortFunc(sorted, bytes.Compare)
			// cover is the record a hash not in the chain falls after.
			cover := func(h []byte) []byte {
				c := sorted[len(sorted)-1]
				for _, x := range sorted {
					if bytes.Compare(x, h) < 0 {
						c = x
					}
				}
				return c
			}
			probes := [][]byte{make([]byte, 20), bytes.Repeat([]byte{0xff}, 20)}
			for _, h := range sorted {
				probes = append(probes, h)
				for _, d := range []int64{-1, 1} {
					p := slices.Clone(h)
					binary.BigEndian.PutUint64(p[12:], uint64(int64(binary.BigEndian.Uint64(p[12:]))+d))
					probes = append(probes, p)
				}
			}
			for range 200 {
				p := make([]byte, 20)
				for i := range p {
					p[i] = byte(rng.UintN(256))
				}
				p[0] = []byte{0x00, 0xff, byte(rng.UintN(256))}[rng.IntN(3)]
				probes = append(probes, p)
			}
			v, err := db.BeginView()
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			z := ZoneHandle{ID: zone, Origin: "example.org."}
			for _, p := range probes {
				in := slices.ContainsFunc(sorted, func(x []byte) bool { return bytes.Equal(x, p) })
				want := cover(p)
				if in {
					want = p
				}
				got, nsec3, rrsig := v.NSEC3Find(z, p)
				if !bytes.Equal(got, want) || nsec3 == nil || rrsig == nil {
					t.Errorf("NSEC3Find(%x) = %x (nsec3 %t, rrsig %t), want %x", p, got, nsec3 != nil, rrsig != nil, want)
				}
				if got := v.NSEC3Cover(z, p); !bytes.Equal(got, cover(p)) && !(in && len(sorted) == 1) {
					t.Errorf("NSEC3Cover(%x) = %x, want %x", p, got, cover(p))
				}
				prev, next := nsec3Neighbours(v.tx.Bucket(bucketRR).Cursor(), zone, p)
				wantPrev, wantNext := neighbours(sorted, p)
				if !bytes.Equal(prev, wantPrev) || !bytes.Equal(next, wantNext) {
					t.Errorf("neighbours(%x) = %x, %x; want %x, %x", p, prev, next, wantPrev, wantNext)
				}
			}
		})
	}
}

// neighbours is nsec3Neighbours by brute force over a sorted chain.
func neighbours(sorted [][]byte, h []byte) (prev, next []byte) {
	var others [][]byte
	for _, x := range sorted {
		if !bytes.Equal(x, h) {
			others = append(others, x)
		}
	}
	if len(others) == 0 {
		return nil, nil
	}
	prev, next = others[len(others)-1], others[0]
	for _, x := range others {
		if bytes.Compare(x, h) < 0 {
			prev = x
		}
	}
	for i := len(others) - 1; i >= 0; i-- {
		if bytes.Compare(others[i], h) > 0 {
			next = others[i]
		}
	}
	return prev, next
}
