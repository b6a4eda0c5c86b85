package admin

import (
	"context"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
)

// DNSSEC operations: enable, disable, keys, DS, import (DESIGN.md,
// "DNSSEC: online signing with NSEC3").

// DNSSECRequest names a zone and, for enable, how to sign it.
type DNSSECRequest struct {
	Name string `json:"name"`
	// Algorithm: 13 (default), 15 or 8.
	Algorithm uint8 `json:"algorithm,omitempty"`
	// Split makes a KSK and a ZSK instead of one CSK.
	Split bool `json:"split,omitempty"`
	// NSEC denies with NSEC instead of NSEC3.
	NSEC       bool   `json:"nsec,omitempty"`
	Iterations uint16 `json:"iterations,omitempty"`
	Salt       string `json:"salt,omitempty"`
	OptOut     bool   `json:"opt_out,omitempty"`
	// Digest is the DS digest type: 2 (default) or 4.
	Digest uint8 `json:"digest,omitempty"`
	// ShareKeysWith (enable) copies the keys of the zone of the same name
	// in that view: both views' answers then validate with one DS.
	ShareKeysWith string `json:"share_keys_with,omitempty"`
	// DSRemoved is the admin's word that the parent's DS is gone (disable).
	DSRemoved bool `json:"ds_removed,omitempty"`
	// KeyFile and PrivateFile are BIND key files' contents (import).
	KeyFile     string `json:"key_file,omitempty"`
	PrivateFile string `json:"private_file,omitempty"`
}

// KeyInfo is one key as dms dnssec keys shows it.
type KeyInfo struct {
	ID        uint64    `json:"id"`
	Tag       uint16    `json:"tag"`
	Algorithm uint8     `json:"algorithm"`
	Role      string    `json:"role"`
	State     string    `json:"state"`
	Created   time.Time `json:"created"`
	Published time.Time `json:"published,omitzero"`
	Activated time.Time `json:"activated,omitzero"`
	Retired   time.Time `json:"retired,omitzero"`
	DS        []string  `json:"ds,omitempty"`
}

// DNSSECInfo is a zone's DNSSEC state.
type DNSSECInfo struct {
	Zone    string              `json:"zone"`
	Signed  bool                `json:"signed"`
	Params  *DNSSECParamsInfo   `json:"params,omitempty"`
	Keys    []KeyInfo           `json:"keys"`
	Commits []zonedb.ZoneCommit `json:"commits,omitempty"`
}

// DNSSECParamsInfo is a signed zone's denial-of-existence and signature
// settings as shown: the durations as Go durations ("336h"), not the
// store's nanoseconds.
type DNSSECParamsInfo struct {
	NSEC3      bool   `json:"nsec3"`
	Iterations uint16 `json:"iterations"`
	Salt       string `json:"salt,omitempty"` // hex, "" for none
	OptOut     bool   `json:"opt_out,omitempty"`
	// Validity is how long signatures are valid; Refresh how long before
	// their expiry they are made anew.
	Validity string `json:"validity"`
	Refresh  string `json:"refresh"`
}

func dnssecParamsInfo(p *zonedb.DNSSECParams) *DNSSECParamsInfo {
	if p == nil {
		return nil
	}
	return &DNSSECParamsInfo{NSEC3: p.NSEC3, Iterations: p.Iterations, Salt: p.Salt, OptOut: p.OptOut,
		Validity: DurationText(p.Validity), Refresh: DurationText(p.Refresh)}
}

// DurationText is d as time.ParseDuration reads it, without zero minutes
// and seconds: "336h", "1h30m".
func DurationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2] // "336h0m", "1h30m"
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

// newKeys makes the keys of a zone being signed: one CSK, or a KSK and a
// ZSK.
func newKeys(zone string, alg uint8, split bool, now time.Time) ([]zonedb.DNSSECKey, error) {
	if alg == 0 {
		alg = dns.ECDSAP256SHA256
	}
	if alg != dns.ECDSAP256SHA256 && alg != dns.ED25519 && alg != dns.RSASHA256 {
		return nil, usagef("DNSSEC algorithm %d: use 13 (ECDSAP256SHA256, default), 15 (ED25519) or 8 (RSASHA256)", alg)
	}
	roles := []string{"csk"}
	if split {
		roles = []string{"ksk", "zsk"}
	}
	var out []zonedb.DNSSECKey
	for _, role := range roles {
		k, err := dnssec.GenerateKey(zone, alg, role != "zsk")
		if err != nil {
			return nil, err
		}
		out = append(out, dnssec.NewStoredKey(k, role, "active", now))
	}
	return out, nil
}

// signNewZone gives a zone being created with DNSSEC on its keys and
// parameters (one CSK of algorithm 13, NSEC3 per RFC 9276).
func signNewZone(zc *zonedb.ZoneChange) error {
	if zc.Create == nil || !zc.Create.DNSSEC || zc.SetKeys != nil {
		return nil
	}
	name, err := zonedb.CanonicalZoneName(zc.Zone)
	if err != nil {
		return err
	}
	keys, err := newKeys(name, 0, false, time.Now().UTC())
	if err != nil {
		return err
	}
	p := dnssec.DefaultParams()
	p.NSEC3 = zc.Create.NSEC3 // config nsec3 (default true), else NSEC
	zc.Create.Params = &p
	zc.SetKeys = &keys
	return nil
}

// DNSSECEnable signs a zone: new keys (or the ones imported), the
// parameters given, every RRset signed and the NSEC3 chain built, in one
// commit.
func (s *Service) DNSSECEnable(ctx context.Context, c Caller, req DNSSECRequest) (*DNSSECInfo, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	if req.NSEC && (req.Iterations != 0 || req.OptOut || req.Salt != "" && req.Salt != "-") {
		return nil, usagef("--nsec3-iterations, --nsec3-salt and --opt-out are for NSEC3, not --nsec")
	}
	salt := ""
	if req.Salt != "" && req.Salt != "-" {
		b := strings.ToUpper(req.Salt)
		if _, err := hex.DecodeString(b); err != nil || len(b) > 510 {
			return nil, usagef("--nsec3-salt takes hex (at most 255 bytes) or -, not %q", req.Salt)
		}
		salt = b
	}
	if req.Iterations > 100 {
		return nil, usagef("--nsec3-iterations %d: RFC 9276 asks for 0, and validators treat more than 100 as insecure", req.Iterations)
	}
	z, existing, err := s.zoneKeys(c, name)
	if err != nil {
		return nil, err
	}
	if z.DNSSEC {
		return nil, usagef("zone %s is signed already (dms dnssec keys %s shows its keys)", name, strings.TrimSuffix(name, "."))
	}
	now := time.Now().UTC()
	keys := existing
	if req.ShareKeysWith != "" {
		if len(existing) > 0 {
			return nil, usagef("zone %s has imported keys already; --share-keys-with takes another view's instead", name)
		}
		if keys, err = s.sharedKeys(c, name, req.ShareKeysWith); err != nil {
			return nil, err
		}
	}
	if len(keys) == 0 {
		if keys, err = newKeys(name, req.Algorithm, req.Split, now); err != nil {
			return nil, err
		}
	} else {
		// Imported keys: a lone SEP key signs everything (a CSK).
		haveZSK := false
		for _, k := range keys {
			haveZSK = haveZSK || k.Role == "zsk"
		}
		for i := range keys {
			if req.ShareKeysWith != "" {
				continue // the keys keep their roles and states
			}
			if !haveZSK {
				keys[i].Role = "csk"
			}
			keys[i].State, keys[i].Activated = "active", now
		}
	}
	p := dnssec.DefaultParams()
	p.NSEC3, p.Iterations, p.Salt, p.OptOut = !req.NSEC, req.Iterations, salt, req.OptOut
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, SetKeys: &keys, SignAll: true,
		Comment: "DNSSEC enabled",
		Update: func(z *zonedb.Zone) error {
			if z.DNSSEC {
				return usagef("zone %s is signed already", name)
			}
			z.DNSSEC, z.NSEC3, z.Params = true, p.NSEC3, &p
			return nil
		}})
	return s.keysAfter(ctx, c, name, res, err)
}

// DNSSECDisable takes a zone's signatures, chain and keys away. It refuses
// while the parent may still publish a DS for it (validators would then
// find the zone bogus): the admin removes the DS at the parent, waits its
// TTL, then confirms with DSRemoved. A parent zone served here is checked.
func (s *Service) DNSSECDisable(ctx context.Context, c Caller, req DNSSECRequest) (*DNSSECInfo, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	var parentDS []string
	if err := s.read(c, func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		if !z.DNSSEC {
			return usagef("zone %s is not signed", name)
		}
		// A parent zone of ours with a DS for this one.
		for p := name; p != "."; {
			i, end := dns.NextLabel(p, 0)
			if end {
				break
			}
			p = p[i:]
			pz, err := v.Zone(p)
			if err != nil {
				continue
			}
			ds, err := v.RRset(pz, name, dns.TypeDS)
			if err == nil {
				for _, r := range ds {
					parentDS = append(parentDS, r.RR.String())
				}
			}
			break
		}
		return nil
	}); err != nil {
		return nil, err
	}
	if len(parentDS) > 0 {
		return nil, &Error{Code: CodeInUse, Message: fmt.Sprintf("zone %s has DS records in its parent zone on this server: validators would find it bogus unsigned", name),
			Hint: fmt.Sprintf("delete them first (dms record delete PARENT '%s DS'), wait for their TTL to pass, then run dms dnssec disable %s --ds-removed",
				name, strings.TrimSuffix(name, "."))}
	}
	if !req.DSRemoved {
		return nil, &Error{Code: CodeBadInput, Message: fmt.Sprintf("turning DNSSEC off for %s while its parent publishes a DS makes the zone bogus for validating resolvers", name),
			Hint: fmt.Sprintf("remove the DS at the parent (registrar) first, wait for the DS TTL (often a day) to pass, then run dms dnssec disable %s --ds-removed",
				strings.TrimSuffix(name, "."))}
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Comment: "DNSSEC disabled",
		Update: func(z *zonedb.Zone) error { z.DNSSEC = false; return nil }})
	if err != nil {
		return nil, err
	}
	return &DNSSECInfo{Zone: name, Commits: res, Keys: []KeyInfo{}}, nil
}

// DNSSECKeys lists a zone's keys with their DS records.
func (s *Service) DNSSECKeys(ctx context.Context, c Caller, req DNSSECRequest) (*DNSSECInfo, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	digest := req.Digest
	if digest == 0 {
		digest = dns.SHA256
	}
	if digest != dns.SHA256 && digest != dns.SHA384 {
		return nil, usagef("DS digest %d: use 2 (SHA-256, default) or 4 (SHA-384)", digest)
	}
	info := &DNSSECInfo{Zone: name, Keys: []KeyInfo{}}
	err = s.read(c, func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		info.Signed, info.Params = z.DNSSEC, dnssecParamsInfo(z.Params)
		keys, err := v.DNSSECKeys(z)
		if err != nil {
			return err
		}
		for _, dk := range keys {
			ki := KeyInfo{ID: dk.ID, Tag: dk.Tag, Algorithm: dk.Algorithm, Role: dk.Role, State: dk.State,
				Created: dk.Created, Published: dk.Published, Activated: dk.Activated, Retired: dk.Retired}
			if dk.Role != "zsk" && dk.State != "removed" {
				k, err := dnssec.ParseKey(dk.DNSKEY, dk.Private)
				if err != nil {
					return fmt.Errorf("key %d of %s: %w", dk.Tag, name, err)
				}
				ds, err := dnssec.DS(k, digest, 3600)
				if err != nil {
					return err
				}
				ki.DS = append(ki.DS, ds.String())
			}
			info.Keys = append(info.Keys, ki)
		}
		return nil
	})
	return info, err
}

// DNSSECImport stores a key made by BIND's dnssec-keygen, so a zone moves
// from BIND with its DS unchanged. Imported into an unsigned zone, the keys
// sign it at dms dnssec enable; into a signed zone, the key is published
// (not signing) for a rollover.
func (s *Service) DNSSECImport(ctx context.Context, c Caller, req DNSSECRequest) (*DNSSECInfo, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	k, err := dnssec.ImportBIND(name, []byte(req.KeyFile), []byte(req.PrivateFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUsage, err)
	}
	z, keys, err := s.zoneKeys(c, name)
	if err != nil {
		return nil, err
	}
	signed := z.DNSSEC
	for _, dk := range keys {
		if dk.Tag == k.Tag() && dk.Algorithm == k.Algorithm() {
			return nil, usagef("zone %s already has key %d (algorithm %d)", name, dk.Tag, dk.Algorithm)
		}
	}
	role := "zsk"
	if k.IsSEP() {
		role = "ksk"
	}
	state := "active"
	if signed {
		state = "published"
	}
	keys = append(keys, dnssec.NewStoredKey(k, role, state, time.Now().UTC()))
	zc := zonedb.ZoneChange{Zone: name, SetKeys: &keys, Comment: fmt.Sprintf("key %d imported", k.Tag())}
	res, err := s.commit(ctx, c, zc)
	return s.keysAfter(ctx, c, name, res, err)
}

// RolloverRequest starts a key rollover.
type RolloverRequest struct {
	Name string `json:"name"`
	// KSK rolls the KSK (or the CSK); otherwise the ZSK (or the CSK).
	KSK bool `json:"ksk,omitempty"`
	// Algorithm, when set and different, makes it an algorithm rollover.
	Algorithm uint8 `json:"algorithm,omitempty"`
	// Tag names the key ds-seen confirms (0: every SEP key waiting).
	Tag uint16 `json:"tag,omitempty"`
}

// DNSSECRollover publishes a successor key. A ZSK's takes over after the
// DNSKEY TTL and the publish safety; a KSK's or CSK's waits also for dms
// dnssec ds-seen (the CDS and CDNSKEY records signal it to parents that
// read them, RFC 7344/8078). A new algorithm signs every RRset from now.
func (s *Service) DNSSECRollover(ctx context.Context, c Caller, req RolloverRequest) (*DNSSECInfo, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	z, keys, err := s.zoneKeys(c, name)
	if err != nil {
		return nil, err
	}
	if !z.DNSSEC {
		return nil, usagef("zone %s is not signed (dms dnssec enable %s)", name, strings.TrimSuffix(name, "."))
	}
	var cur *zonedb.DNSSECKey
	for i := range keys {
		k := &keys[i]
		if k.State != "active" {
			continue
		}
		if k.Role == "csk" || req.KSK && k.Role == "ksk" || !req.KSK && k.Role == "zsk" {
			cur = k
		}
	}
	if cur == nil {
		return nil, usagef("zone %s has no active key of that role to roll (dms dnssec keys %s)", name, strings.TrimSuffix(name, "."))
	}
	for _, k := range keys {
		if k.State == "published" && k.Role == cur.Role {
			return nil, usagef("a rollover of the %s of %s is under way already (key %d published)", strings.ToUpper(cur.Role), name, k.Tag)
		}
	}
	alg := cur.Algorithm
	if req.Algorithm != 0 {
		alg = req.Algorithm
	}
	if alg != dns.ECDSAP256SHA256 && alg != dns.ED25519 && alg != dns.RSASHA256 {
		return nil, usagef("DNSSEC algorithm %d: use 13, 15 or 8", alg)
	}
	k, err := dnssec.GenerateKey(name, alg, cur.Role != "zsk")
	if err != nil {
		return nil, err
	}
	keys = append(keys, dnssec.NewStoredKey(k, cur.Role, "published", time.Now().UTC()))
	algRoll := alg != cur.Algorithm
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, SetKeys: &keys, SignAll: algRoll,
		Comment: fmt.Sprintf("rollover: %s %d published to replace %d", strings.ToUpper(cur.Role), k.Tag(), cur.Tag)})
	return s.keysAfter(ctx, c, name, res, err)
}

// DNSSECDSSeen records the admin's word that the parent publishes the DS
// of the zone's new (or first) KSK/CSK: a KSK rollover can go on.
func (s *Service) DNSSECDSSeen(ctx context.Context, c Caller, req RolloverRequest) (*DNSSECInfo, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	_, keys, err := s.zoneKeys(c, name)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	n := 0
	for i := range keys {
		k := &keys[i]
		if k.Role == "zsk" || k.State == "retired" || k.State == "removed" || !k.DSSeen.IsZero() || req.Tag != 0 && k.Tag != req.Tag {
			continue
		}
		k.DSSeen = now
		n++
	}
	if n == 0 {
		return nil, usagef("no KSK or CSK of %s is waiting for its DS (dms dnssec keys %s)", name, strings.TrimSuffix(name, "."))
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, SetKeys: &keys, Comment: "DS seen at the parent"})
	return s.keysAfter(ctx, c, name, res, err)
}

// keysAfter answers a DNSSEC change with the zone's keys and the commit.
func (s *Service) keysAfter(ctx context.Context, c Caller, name string, res []zonedb.ZoneCommit, err error) (*DNSSECInfo, error) {
	if err != nil {
		return nil, err
	}
	info, err := s.DNSSECKeys(ctx, c, DNSSECRequest{Name: name})
	if err != nil {
		return nil, err
	}
	info.Commits = res
	return info, nil
}

// zoneKeys reads a zone and its DNSSEC keys in one view.
func (s *Service) zoneKeys(c Caller, name string) (z *zonedb.Zone, keys []zonedb.DNSSECKey, err error) {
	err = s.read(c, func(v *zonedb.View) error {
		if z, err = v.Zone(name); err != nil {
			return err
		}
		keys, err = v.DNSSECKeys(z)
		return err
	})
	return z, keys, err
}

// sharedKeys are the DNSSEC keys of zone name in view, to sign the same
// name in the caller's view with (dms dnssec enable --share-keys-with):
// the views' answers validate with the one DS at the parent. They are a
// copy: a later rollover in one view is not made in the other.
func (s *Service) sharedKeys(c Caller, name, view string) ([]zonedb.DNSSECKey, error) {
	if strings.EqualFold(view, c.View) || view == zonedb.DefaultView && c.View == "" {
		return nil, usagef("--share-keys-with names the zone's own view; name another view")
	}
	other := c
	other.View = view
	z, keys, err := s.zoneKeys(other, name)
	if err != nil {
		return nil, err
	}
	if !z.DNSSEC {
		return nil, usagef("zone %s in view %s is not signed: sign it first, then share its keys", name, view)
	}
	var out []zonedb.DNSSECKey
	for _, k := range keys {
		if k.State == "removed" {
			continue
		}
		k.ID = 0 // the store gives the copy its own id
		out = append(out, k)
	}
	return out, nil
}
