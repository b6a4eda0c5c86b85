package dnssec

import (
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// Key rollovers (RFC 7583): the re-signer takes each step when its time
// has come. A ZSK rolls by pre-publication on its own every
// dnssec_zsk_lifetime; a KSK or CSK rollover is started by the admin (dms
// dnssec rollover) and waits for the admin's word that the parent has the
// new DS (dms dnssec ds-seen) before the new key takes over; an algorithm
// rollover signs with both algorithms from the new key's publication until
// the old keys are gone.

// Config keys of the rollover timing (durations such as 90d, 1h, 3600).
const (
	ConfigZSKLifetime   = "dnssec_zsk_lifetime"
	ConfigPublishSafety = "dnssec_publish_safety"
	ConfigRetireSafety  = "dnssec_retire_safety"
	ConfigDSTTL         = "dnssec_ds_ttl"
)

// Timing is the rollover timing of a zone.
type Timing struct {
	// ZSKLifetime: a ZSK older than this is replaced (0: never).
	ZSKLifetime time.Duration
	// PublishSafety is added to the DNSKEY TTL before a published key
	// signs (caches must have seen it).
	PublishSafety time.Duration
	// RetireSafety is added before a retired key goes: it must cover the
	// zone's longest TTL, so no cached signature is left without its key.
	RetireSafety time.Duration
	// DSTTL is the parent's DS TTL, waited for before an old KSK goes.
	DSTTL time.Duration
}

// DefaultTiming is the timing when config does not say.
func DefaultTiming() Timing {
	t, _ := TimingFrom(nil)
	return t
}

// TimingFrom reads the timing from the store's config (the defaults are
// zonedb's key table's).
func TimingFrom(stored map[string]string) (Timing, error) {
	cfg := zonedb.EffectiveConfig(stored)
	var t Timing
	for key, dst := range map[string]*time.Duration{ConfigZSKLifetime: &t.ZSKLifetime, ConfigPublishSafety: &t.PublishSafety,
		ConfigRetireSafety: &t.RetireSafety, ConfigDSTTL: &t.DSTTL} {
		d, err := zonedb.ParseTTL(cfg[key])
		if err != nil {
			return t, fmt.Errorf("config %s: %w", key, err)
		}
		*dst = time.Duration(d) * time.Second
	}
	return t, nil
}

// KeyStep works out the next rollover step for a zone at now: the new key
// set, what happened, and whether every RRset must be signed anew (an
// algorithm left the zone). ok is false when nothing is due.
func KeyStep(z *zonedb.Zone, keys []zonedb.DNSSECKey, dnskeyTTL time.Duration, tm Timing, now time.Time) (out []zonedb.DNSSECKey, what string, signAll, ok bool, err error) {
	out = append([]zonedb.DNSSECKey(nil), keys...)
	var steps []string
	wait := dnskeyTTL + tm.PublishSafety
	// 1. A ZSK at the end of its life gets a successor, published.
	if tm.ZSKLifetime > 0 {
		if out, err = renewZSK(z, out, tm.ZSKLifetime-wait, now, &steps); err != nil {
			return nil, "", false, false, err
		}
	}
	// 2. Published keys whose time has come take over.
	activate(out, wait, now, &steps)
	// 3. Retired keys go once no signature of theirs can be cached.
	out, signAll = removeRetired(z, out, dnskeyTTL, tm, now, &steps)
	if len(steps) == 0 {
		return keys, "", false, false, nil
	}
	return out, strings.Join(steps, "; "), signAll, true, nil
}

// renewZSK publishes a successor of the active ZSK once it is older than
// due, unless one is published already.
func renewZSK(z *zonedb.Zone, out []zonedb.DNSSECKey, due time.Duration, now time.Time, steps *[]string) ([]zonedb.DNSSECKey, error) {
	var active *zonedb.DNSSECKey
	pending := false
	for i := range out {
		k := &out[i]
		if k.Role == "zsk" && k.State == "active" {
			active = k
		}
		if k.Role == "zsk" && k.State == "published" {
			pending = true
		}
	}
	if active == nil || pending || now.Before(active.Activated.Add(due)) {
		return out, nil
	}
	nk, err := GenerateKey(z.Name, active.Algorithm, false)
	if err != nil {
		return nil, err
	}
	*steps = append(*steps, fmt.Sprintf("ZSK %d published to replace ZSK %d", nk.Tag(), active.Tag))
	return append(out, NewStoredKey(nk, "zsk", "published", now)), nil
}

// activate makes published keys active once they have been published for
// wait (a new KSK or CSK also once its DS is seen at the parent), and
// retires the active key of the same role each replaces.
func activate(out []zonedb.DNSSECKey, wait time.Duration, now time.Time, steps *[]string) {
	for i := range out {
		k := &out[i]
		if k.State != "published" || now.Before(k.Published.Add(wait)) {
			continue
		}
		if k.Role != "zsk" && k.DSSeen.IsZero() {
			continue // a new KSK/CSK waits for its DS at the parent
		}
		k.State, k.Activated = "active", now
		*steps = append(*steps, fmt.Sprintf("%s %d active", strings.ToUpper(k.Role), k.Tag))
		for j := range out {
			o := &out[j]
			if j != i && o.State == "active" && o.Role == k.Role {
				o.State, o.Retired = "retired", now
				*steps = append(*steps, fmt.Sprintf("%s %d retired", strings.ToUpper(o.Role), o.Tag))
			}
		}
	}
}

// removeRetired drops retired keys once no signature of theirs can be
// cached; signAll says an algorithm left with one, so the zone must be
// signed whole.
func removeRetired(z *zonedb.Zone, out []zonedb.DNSSECKey, dnskeyTTL time.Duration, tm Timing, now time.Time, steps *[]string) ([]zonedb.DNSSECKey, bool) {
	signAll := false
	algs := map[uint8]int{}
	for _, k := range out {
		if k.State != "retired" {
			algs[k.Algorithm]++
		}
	}
	// signsData: the roles whose keys sign the zone's data.
	signsData := func(role string) bool { return role != "ksk" }
	// present: per algorithm, the keys in the DNSKEY RRset other than
	// retired data keys (a retired KSK still counts: while it is there,
	// data needs signatures of its algorithm).
	present := map[uint8]int{}
	for _, k := range out {
		if !(k.State == "retired" && signsData(k.Role)) {
			present[k.Algorithm]++
		}
	}
	kept := out[:0]
	for _, k := range out {
		if k.State == "retired" && signsData(k.Role) {
			// A retired data key whose algorithm has no active data key
			// still gives that algorithm its signatures (RFC 4035 section
			// 2.2): it stays while any other key of the algorithm is
			// published, and leaves with the last of them.
			replaced := false
			for _, o := range out {
				if o.State == "active" && o.Algorithm == k.Algorithm && signsData(o.Role) {
					replaced = true
				}
			}
			if !replaced && present[k.Algorithm] > 0 {
				kept = append(kept, k)
				continue
			}
		}
		if k.State == "retired" {
			gone := k.Retired.Add(dnskeyTTL + tm.RetireSafety)
			if k.Role != "zsk" {
				gone = gone.Add(tm.DSTTL)
			}
			if !now.Before(gone) && z.StaleSigs == 0 {
				*steps = append(*steps, fmt.Sprintf("%s %d removed", strings.ToUpper(k.Role), k.Tag))
				if algs[k.Algorithm] == 0 {
					signAll = true // its algorithm's signatures go with it
				}
				continue
			}
		}
		kept = append(kept, k)
	}
	return kept, signAll
}

// NewStoredKey is a key as the store keeps it.
func NewStoredKey(k *Key, role, state string, now time.Time) zonedb.DNSSECKey {
	dk := zonedb.DNSSECKey{Tag: k.Tag(), Algorithm: k.Algorithm(), Role: role, State: state, DNSKEY: k.DNSKEY.String(),
		Private: k.MarshalPrivate(), Created: now, Published: now}
	if state == "active" {
		dk.Activated = now
	}
	return dk
}

// dnskeyTTL is the TTL the signer gives the DNSKEY RRset: the SOA's.
func dnskeyTTL(v *zonedb.View, z *zonedb.Zone) time.Duration {
	soa, err := v.RRset(z, z.Name, dns.TypeSOA)
	if err != nil || len(soa) == 0 {
		return time.Hour
	}
	return time.Duration(soa[0].RR.Header().Ttl) * time.Second
}
