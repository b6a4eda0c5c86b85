package zonedb

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// Who may transfer a zone, and how far NOTIFY got.

// LastZI is the highest zone instance id handed out so far (ids come from
// one sequence for the whole store).
func (v *View) LastZI() uint64 { return v.tx.Bucket(bucketZI).Sequence() }

// Notified is the zone instance id up to which every instance was
// notified to the secondaries (SetNotified); 0 when never recorded.
func (v *View) Notified() uint64 { return u64(v.tx.Bucket(bucketMeta).Get(keyNotified)) }

// SetNotified records that every zone instance up to zi was notified, so a
// restarted server notifies only what came after (commits made while it
// was stopped). It is bookkeeping, not zone data: the generation does not
// move and no event is published.
func (db *DB) SetNotified(zi uint64) error {
	return db.bolt.Update(func(tx *bolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if u64(m.Get(keyNotified)) >= zi {
			return nil
		}
		return m.Put(keyNotified, be64(zi))
	})
}

// ConfigXfrAllow is the config key of the global transfer allow list:
// addresses or prefixes (monitoring hosts) that may transfer every zone.
const ConfigXfrAllow = "xfr_allow"

// XfrAllowed says whether client is in the xfr_allow list, reading that
// one key (config changes do not move the generation, so callers that
// keep things per generation must not keep this).
func (v *View) XfrAllowed(client netip.Addr) bool {
	client = client.Unmap()
	list := v.tx.Bucket(bucketConfig).Get([]byte(ConfigXfrAllow))
	for _, p := range strings.FieldsFunc(string(list), func(r rune) bool { return r == ' ' || r == ',' }) {
		if pfx, err := netip.ParsePrefix(p); err == nil && pfx.Contains(client) {
			return true
		}
		if a, err := netip.ParseAddr(p); err == nil && a.Unmap() == client {
			return true
		}
	}
	return false
}

// TransferAllowed says whether client, whose request was signed with the
// TSIG key keyName ("" when unsigned and verified by the caller), may
// transfer zone z (and read it, for a catalog zone): a server of the zone's
// primary or alternate SG at that address, with its TSIG key when it has
// one, or an address in the xfr_allow list. Disabled servers still may (dms
// only stops notifying and polling them). It returns why not, for the log.
func (v *View) TransferAllowed(z *Zone, client netip.Addr, keyName string) (bool, string) {
	client = client.Unmap()
	if v.XfrAllowed(client) {
		return true, ""
	}
	if z.SG == "" && z.AltSG == "" {
		return false, "the zone has no server group"
	}
	servers, err := v.Servers()
	if err != nil {
		return false, err.Error()
	}
	why := fmt.Sprintf("%s is not a server of server group %s", client, z.SG)
	if z.AltSG != "" {
		why = fmt.Sprintf("%s is not a server of server groups %s or %s", client, z.SG, z.AltSG)
	}
	for _, s := range servers {
		if !strings.EqualFold(s.SG, z.SG) && !strings.EqualFold(s.SG, z.AltSG) || s.AddrPort().Addr() != client {
			continue
		}
		switch {
		case s.TSIGKey == "":
			return true, ""
		case keyName == "":
			why = fmt.Sprintf("server %s must sign with TSIG key %s; the request was not signed", s.Name, KeyName(s.TSIGKey))
		case dns.CanonicalName(keyName) == s.TSIGKey:
			return true, ""
		default:
			why = fmt.Sprintf("server %s must sign with TSIG key %s, not %s", s.Name, KeyName(s.TSIGKey), KeyName(dns.CanonicalName(keyName)))
		}
	}
	return false, why
}
