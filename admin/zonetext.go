package admin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// A zone's text: shown, its past contents, and replaced whole.

// ZoneRequest names a zone (and, for some operations, an instance).
type ZoneRequest struct {
	Name string `json:"name"`
	ZI   uint64 `json:"zi,omitempty"`
}

// ZoneText is a zone as text, with the instance it was read from.
type ZoneText struct {
	Zone   string `json:"zone"`
	ZI     uint64 `json:"zi"`
	Serial uint32 `json:"serial"`
	Text   string `json:"text"`
}

// ZoneShow prints the zone (or one of its older instances) as zone text,
// with its ";|" and ";#" comments. Comments are not versioned: an older
// instance is shown with today's comments of the RRsets it has.
func (s *Service) ZoneShow(ctx context.Context, c Caller, req ZoneRequest) (*ZoneText, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var out *ZoneText
	err = s.read(c, func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		ziID := z.ZI
		if req.ZI != 0 {
			ziID = req.ZI
		}
		zi, err := v.ZI(z, ziID)
		if err != nil {
			return err
		}
		recs, err := contentAt(v, z, ziID)
		if err != nil {
			return err
		}
		comments, err := v.Comments(z)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		h := &zonefile.Header{Zone: z.Name, Reference: z.Ref, ChangeBy: zi.ChangeBy, ZI: zi.ID, CTime: zi.CTime, MTime: zi.CTime, PTime: zi.PTime}
		if err := zonefile.PrintText(&b, z.Name, h, &zonefile.Text{Records: recs, Comments: comments}); err != nil {
			return err
		}
		out = &ZoneText{Zone: z.Name, ZI: zi.ID, Serial: zi.Serial, Text: b.String()}
		return nil
	})
	return out, err
}

// recKey identifies a record by owner, type and RDATA.
func recKey(r zonedb.Record) string {
	h := r.RR.Header()
	return strings.ToLower(h.Name) + "\x00" + strconv.Itoa(int(h.Rrtype)) + "\x00" + zonedb.RdataText(r.RR)
}

// contentAt rebuilds the zone's records as of instance ziID by undoing the
// diffs of the later instances, newest first.
func contentAt(v *zonedb.View, z *zonedb.Zone, ziID uint64) ([]zonedb.Record, error) {
	recs, err := contentNow(v, z, ziID)
	if err != nil {
		return nil, err
	}
	return editable(z, recs), nil
}

// editable leaves out what the signer owns: the zone's editors see and
// write only the data (RRSIG, NSEC and NSEC3 can never be theirs; DNSKEY,
// CDS and CDNSKEY are the signer's while the zone is signed).
func editable(z *zonedb.Zone, recs []zonedb.Record) []zonedb.Record {
	return slices.DeleteFunc(recs, func(r zonedb.Record) bool {
		switch t := r.RR.Header().Rrtype; t {
		case dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM:
			return true
		default:
			return z.DNSSEC && zonedb.SignerType(t)
		}
	})
}

func contentNow(v *zonedb.View, z *zonedb.Zone, ziID uint64) ([]zonedb.Record, error) {
	recs, err := v.Records(z)
	if err != nil {
		return nil, err
	}
	if ziID == z.ZI {
		return recs, nil
	}
	// The instance must exist (History walks what comes after it).
	if _, err := v.ZI(z, ziID); err != nil {
		return nil, err
	}
	set := make(map[string]zonedb.Record, len(recs))
	for _, r := range recs {
		set[recKey(r)] = r
	}
	// Undo the instances after ziID, newest first.
	err = v.History(z, ziID, math.MaxUint64, true, func(_ zonedb.ZI, d *zonedb.Diff) (bool, error) {
		for _, r := range d.Added {
			delete(set, recKey(r))
		}
		for _, r := range d.Removed {
			set[recKey(r)] = r
		}
		return true, nil
	})
	if errors.Is(err, zonedb.ErrHistoryGone) {
		return nil, fmt.Errorf("%w: instance %d of %s predates a reload", zonedb.ErrHistoryGone, ziID, z.Name)
	}
	if err != nil {
		return nil, err
	}
	out := make([]zonedb.Record, 0, len(set))
	for _, r := range set {
		out = append(out, r)
	}
	return out, nil
}

// ZoneReplaceRequest replaces a zone's content with zone text (dms zone
// edit). ExpectZI, when set, refuses the change if the zone moved on.
type ZoneReplaceRequest struct {
	Name     string `json:"name"`
	File     string `json:"file,omitempty"`
	Text     string `json:"text"`
	ExpectZI uint64 `json:"expect_zi,omitempty"`
	// LockToken is the edit lock held on a zone with edit_lock (see
	// ZoneLockTake); the commit releases it.
	LockToken string `json:"lock_token,omitempty"`
}

// ZoneReplace commits new zone text. The serial follows the policy (a
// higher serial typed into the SOA is kept); a ";!REF:" on the SOA changes
// the zone's reference. The text's ";|" and ";#" comments replace the
// zone's; a change of comments alone is saved without a new instance.
func (s *Service) ZoneReplace(ctx context.Context, c Caller, req ZoneReplaceRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var cfg Config
	var curRef string
	err = s.read(c, func(v *zonedb.View) error {
		cfg = s.config(v)
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		curRef = z.Ref
		return nil
	})
	if err != nil {
		return nil, err
	}
	text, err := zonefile.ParseText(strings.NewReader(req.Text), zonefile.ParseOptions{
		File: cmpOr(req.File, name), Origin: name, DefaultTTL: cfg.TTL("zone_ttl"), MaxRecords: maxRecords(c, cfg),
	})
	if err != nil {
		return nil, tooManyHint(c, err)
	}
	recs := text.Records
	zc := zonedb.ZoneChange{Zone: name, Replace: true, Records: recs, ExpectZI: req.ExpectZI,
		SetComments: true, Comments: text.Comments}
	if r := soaRef(recs); r != "" && !strings.EqualFold(r, curRef) {
		zc.Ref, zc.SetRef = r, true
	}
	res, err := s.commitLocked(ctx, c, name, req.LockToken, zc)
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}
