package zonedb

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// ---- catalog zones (RFC 9432) ----

// CatalogMemberLabel is the stable member id of a zone in catalogs: it
// stays the same while the zone exists (moves between SGs included).
func CatalogMemberLabel(zoneID uint64) string { return "z" + strconv.FormatUint(zoneID, 36) }

// catalogRecords is the content of a new catalog zone.
func catalogRecords(name string, members map[string]string) []Record {
	soa := &dns.SOA{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: 0},
		Ns: "invalid.", Mbox: "invalid.", Refresh: 3600, Retry: 600, Expire: 2419200, Minttl: 0}
	ns := &dns.NS{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: 0}, Ns: "invalid."}
	ver := &dns.TXT{Hdr: dns.RR_Header{Name: "version." + name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 0}, Txt: []string{"2"}}
	recs := []Record{{RR: soa}, {RR: ns}, {RR: ver}}
	for label, zone := range members {
		recs = append(recs, Record{RR: catalogPTR(name, label, zone)})
	}
	return recs
}

func catalogPTR(catalog, label, zone string) *dns.PTR {
	return &dns.PTR{Hdr: dns.RR_Header{Name: label + ".zones." + catalog, Rrtype: dns.TypePTR, Class: dns.ClassINET, Ttl: 0}, Ptr: zone}
}

// catalogMember reports whether z belongs in catalogs: a published zone
// that is not itself a catalog.
func catalogMember(z *Zone) bool { return z != nil && !z.Deleted && !z.Disabled && z.CatalogOf == "" }

// zoneSGs are the SGs whose catalogs list z.
func zoneSGs(z *Zone) []string {
	if !catalogMember(z) {
		return nil
	}
	var out []string
	for _, s := range []string{z.SG, z.AltSG} {
		if s != "" && !slices.ContainsFunc(out, func(o string) bool { return strings.EqualFold(o, s) }) {
			out = append(out, strings.ToLower(s))
		}
	}
	return out
}

func (t *Txn) createCatalog(sg *SG) (ZoneCommit, error) {
	members := map[string]string{}
	err := t.tx.Bucket(bucketZones).ForEach(func(_, val []byte) error {
		var z Zone
		if err := json.Unmarshal(val, &z); err != nil {
			return err
		}
		if slices.Contains(zoneSGs(&z), strings.ToLower(sg.Name)) {
			members[CatalogMemberLabel(z.ID)] = z.Name
		}
		return nil
	})
	if err != nil {
		return ZoneCommit{}, err
	}
	res, err := t.Apply(ZoneChange{Zone: sg.CatalogZone, View: viewLabel(sg.View), Create: &Zone{SG: sg.Name, CatalogOf: sg.Name}, Replace: true,
		Records: catalogRecords(sg.CatalogZone, members), Comment: "catalog zone of server group " + sg.Name, catalog: true})
	if errors.Is(err, ErrZoneExists) {
		return res, fmt.Errorf("%w: the catalog zone %s of server group %s exists already as a zone; choose another catalog zone name", ErrZoneExists, sg.CatalogZone, sg.Name)
	}
	return res, err
}

func (t *Txn) destroyCatalog(view, name string) error {
	vd, err := getView(t.tx, view)
	if err != nil {
		return err
	}
	zkey, err := zoneKeyIn(vd.ID, name)
	if err != nil {
		return err
	}
	idx := t.tx.Bucket(bucketZoneNames).Get(zkey)
	if idx == nil {
		return nil
	}
	z, err := getZone(t.tx, u64(idx[:8]), false)
	if err != nil {
		return err
	}
	if z.CatalogOf == "" {
		return nil
	}
	_, err = t.Apply(ZoneChange{Zone: name, View: view, Destroy: true, catalog: true})
	return err
}

// catalogChange is one membership change found by a commit (saveZone).
type catalogChange struct {
	sg, label, zone string
	add             bool
}

// membershipChanges compares a zone's catalog membership before and after
// a change.
func membershipChanges(before, after *Zone) []catalogChange {
	var out []catalogChange
	b, a := zoneSGs(before), zoneSGs(after)
	for _, s := range b {
		if !slices.Contains(a, s) {
			out = append(out, catalogChange{sg: s, label: CatalogMemberLabel(before.ID), zone: before.Name})
		}
	}
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, catalogChange{sg: s, label: CatalogMemberLabel(after.ID), zone: after.Name, add: true})
		}
	}
	return out
}

// applyCatalogChanges writes membership changes into the catalog zones, one
// new instance per catalog.
func (t *Txn) applyCatalogChanges(changes []catalogChange) error {
	var sgs []string
	ops := map[string][]RecordOp{}
	for _, c := range changes {
		if _, ok := ops[c.sg]; !ok {
			sgs = append(sgs, c.sg)
		}
		k := OpDelete
		if c.add {
			k = OpAdd
		}
		ops[c.sg] = append(ops[c.sg], RecordOp{Kind: k, Record: Record{RR: catalogPTR("", c.label, c.zone)}})
	}
	for _, s := range sgs {
		sg, err := getSG(t.tx, s)
		if err != nil {
			if errors.Is(err, ErrSGNotFound) {
				continue // a deleted zone naming a deleted SG
			}
			return err
		}
		list := ops[s]
		for i := range list {
			ptr := list[i].Record.RR.(*dns.PTR)
			ptr.Hdr.Name += sg.CatalogZone
		}
		if _, err := t.Apply(ZoneChange{Zone: sg.CatalogZone, View: viewLabel(sg.View), Ops: list, Comment: "catalog members", catalog: true}); err != nil {
			return fmt.Errorf("catalog zone %s: %w", sg.CatalogZone, err)
		}
	}
	return nil
}
