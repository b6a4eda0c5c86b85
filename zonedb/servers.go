package zonedb

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	bolt "go.etcd.io/bbolt"
)

// Server groups and the secondaries in them (DESIGN.md, "Transfers and
// NOTIFY"; TSIG keys are in tsig.go, catalog zones in catalog.go, who may
// transfer in xfracl.go). A zone belongs to a primary SG and optionally an
// alternate one; the servers of both may transfer it and are notified of its
// changes. Each SG has a catalog zone (RFC 9432, version 2) that lists its
// zones; Commit keeps it current in the same transaction as the zones.

// SG is a server group.
type SG struct {
	Name string `json:"name"`
	// ApexNS are the apex NS names of the zones whose primary SG this is
	// and that have use_apex_ns on.
	ApexNS []string `json:"apex_ns,omitempty"`
	// SOAMname is the SOA MNAME of new zones of the SG.
	SOAMname string `json:"soa_mname,omitempty"`
	// MasterAddress are the addresses (host or host:port) at which the
	// SG's secondaries reach dms; used in the configurations dms prints.
	MasterAddress []string `json:"master_address,omitempty"`
	// AllowQuery, when set, makes the SG private: the prefixes of the
	// clients its zones are answered to, by its secondaries (printed in
	// their configurations) and by dms itself (authserver).
	AllowQuery []string `json:"allow_query,omitempty"`
	// View is the view whose zones the SG carries ("": the default
	// view); its catalog zone is in that view too.
	View string `json:"view,omitempty"`
	// CatalogZone is the name of the SG's catalog zone.
	CatalogZone string    `json:"catalog_zone"`
	CTime       time.Time `json:"ctime,omitzero"`
	MTime       time.Time `json:"mtime,omitzero"`
}

// Server is a secondary nameserver fed by dms.
type Server struct {
	Name string `json:"name"`
	// Address is the server's address with its DNS port (netip.AddrPort
	// text: 192.0.2.1:53, [2001:db8::1]:53).
	Address  string    `json:"address"`
	SG       string    `json:"sg"`
	Type     string    `json:"type"` // bind9, knot, nsd
	TSIGKey  string    `json:"tsig_key,omitempty"`
	Disabled bool      `json:"disabled,omitempty"`
	CTime    time.Time `json:"ctime,omitzero"`
	MTime    time.Time `json:"mtime,omitzero"`
}

// QueryPrefixes are the SG's allow-query entries as prefixes (an address
// is the prefix of its full length, an IPv4-mapped one its IPv4 form, as
// clients are compared unmapped); nil for a public SG. Entries that do not
// parse (normalizeSG refuses them) are left out.
func (sg *SG) QueryPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range sg.AllowQuery {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, err := netip.ParseAddr(p)
			if err != nil {
				continue
			}
			pfx = netip.PrefixFrom(a, a.BitLen())
		}
		if a := pfx.Addr(); a.Is4In6() {
			pfx = netip.PrefixFrom(a.Unmap(), max(pfx.Bits()-96, 0))
		}
		out = append(out, pfx.Masked())
	}
	return out
}

// AddrPort is the server's parsed address.
func (s *Server) AddrPort() netip.AddrPort {
	ap, _ := netip.ParseAddrPort(s.Address)
	return ap
}

// Server types.
var ServerTypes = []string{"bind9", "knot", "nsd"}

// Errors of server groups, servers and keys.
var (
	ErrSGExists       = errors.New("server group already exists")
	ErrSGInUse        = errors.New("server group is in use")
	ErrServerNotFound = errors.New("server not found")
	ErrServerExists   = errors.New("server already exists")
	ErrKeyNotFound    = errors.New("TSIG key not found")
	ErrKeyExists      = errors.New("TSIG key already exists")
	ErrKeyInUse       = errors.New("TSIG key is in use")
)

// DefaultCatalogZone is the catalog zone name of an SG that names none.
func DefaultCatalogZone(sg string) string { return strings.ToLower(sg) + ".catalog.invalid." }

// ValidSGName reports whether s can name a server group or a server: a
// letter or digit, then letters, digits, '-', '_' and '.', at most 63.
func ValidSGName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for i, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '-' || r == '_' || r == '.')
		if !ok {
			return false
		}
	}
	return true
}

// ParseServerAddress parses a server address: an IPv4 or IPv6 address with
// an optional port (192.0.2.1, 192.0.2.1:5353, 2001:db8::1,
// [2001:db8::1]:5353); the port defaults to 53.
func ParseServerAddress(s string) (netip.AddrPort, error) {
	s = strings.TrimSpace(s)
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return netip.AddrPort{}, fmt.Errorf("%w: address %q has a zone index; give a global or unique local address", ErrBadInput, s)
		}
		return netip.AddrPortFrom(a.Unmap(), 53), nil
	}
	ap, err := netip.ParseAddrPort(s)
	if err != nil || ap.Port() == 0 || ap.Addr().Zone() != "" {
		return netip.AddrPort{}, fmt.Errorf("%w: %q is not an address: give an IPv4 or IPv6 address with an optional port, such as 192.0.2.1, 192.0.2.1:5353, 2001:db8::1 or [2001:db8::1]:5353", ErrBadInput, s)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// ---- reading ----

func sgKey(name string) []byte     { return []byte(strings.ToLower(name)) }
func serverKey(name string) []byte { return []byte(strings.ToLower(name)) }

func getJSON[T any](b *bolt.Bucket, key []byte, what string) (*T, bool, error) {
	val := b.Get(key)
	if val == nil {
		return nil, false, nil
	}
	v := new(T)
	if err := json.Unmarshal(val, v); err != nil {
		return nil, true, fmt.Errorf("%s %s: corrupt record: %w", what, key, err)
	}
	return v, true, nil
}

func allJSON[T any](b *bolt.Bucket, what string) ([]T, error) {
	var out []T
	err := b.ForEach(func(k, val []byte) error {
		var v T
		if err := json.Unmarshal(val, &v); err != nil {
			return fmt.Errorf("%s %s: corrupt record: %w", what, k, err)
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	val, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, val)
}

func getSG(tx *bolt.Tx, name string) (*SG, error) {
	sg, ok, err := getJSON[SG](tx.Bucket(bucketSGs), sgKey(name), "server group")
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrSGNotFound, name)
	}
	return sg, err
}

// SG returns the server group called name.
func (v *View) SG(name string) (*SG, error) { return getSG(v.tx, name) }

// SGs returns every server group, by name.
func (v *View) SGs() ([]SG, error) { return allJSON[SG](v.tx.Bucket(bucketSGs), "server group") }

// Server returns the server called name.
func (v *View) Server(name string) (*Server, error) {
	s, ok, err := getJSON[Server](v.tx.Bucket(bucketServers), serverKey(name), "server")
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s", ErrServerNotFound, name)
	}
	return s, err
}

// Servers returns every server, by name.
func (v *View) Servers() ([]Server, error) {
	return allJSON[Server](v.tx.Bucket(bucketServers), "server")
}

// PrivateSGs returns the allow-query prefixes of every private server
// group (one with allow-query), by lower-case name: what the query path
// reads once per store generation, so public SGs are passed over without
// decoding them (an empty AllowQuery is left out of the JSON).
func (v *View) PrivateSGs() (map[string][]netip.Prefix, error) {
	out := map[string][]netip.Prefix{}
	err := v.tx.Bucket(bucketSGs).ForEach(func(k, val []byte) error {
		if !bytes.Contains(val, []byte(`"allow_query"`)) {
			return nil
		}
		var sg SG
		if err := json.Unmarshal(val, &sg); err != nil {
			return fmt.Errorf("server group %s: corrupt record: %w", k, err)
		}
		if p := sg.QueryPrefixes(); len(p) > 0 {
			out[strings.ToLower(sg.Name)] = p
		}
		return nil
	})
	return out, err
}

// ZoneSGs returns the primary and alternate server groups of the zone with
// id, and whether it is a catalog zone, decoding nothing else of its
// metadata (the query path's allow-query check).
func (v *View) ZoneSGs(id uint64) (sg, alt string, catalog bool, err error) {
	val := v.tx.Bucket(bucketZones).Get(be64(id))
	if val == nil {
		return "", "", false, fmt.Errorf("%w: id %d", ErrZoneNotFound, id)
	}
	var z struct {
		SG        string `json:"sg"`
		AltSG     string `json:"alt_sg"`
		CatalogOf string `json:"catalog_of"`
	}
	if err := json.Unmarshal(val, &z); err != nil {
		return "", "", false, fmt.Errorf("zone %d: corrupt metadata: %w", id, err)
	}
	return z.SG, z.AltSG, z.CatalogOf != "", nil
}

// ServerAddrs returns the address of every server (of every SG).
func (v *View) ServerAddrs() (map[netip.Addr]bool, error) {
	servers, err := v.Servers()
	if err != nil {
		return nil, err
	}
	out := make(map[netip.Addr]bool, len(servers))
	for _, s := range servers {
		out[s.AddrPort().Addr()] = true
	}
	return out, nil
}

// ZoneCount is the number of zones (deleted ones excluded) whose primary or
// alternate SG is sg.
func (v *View) ZoneCount(sg string) (primary, alt int, err error) {
	err = v.tx.Bucket(bucketZones).ForEach(func(_, val []byte) error {
		var z struct {
			SG      string `json:"sg"`
			AltSG   string `json:"alt_sg"`
			Deleted bool   `json:"deleted"`
			Catalog string `json:"catalog_of"`
		}
		if err := json.Unmarshal(val, &z); err != nil {
			return err
		}
		if z.Deleted || z.Catalog != "" {
			return nil
		}
		if strings.EqualFold(z.SG, sg) {
			primary++
		}
		if strings.EqualFold(z.AltSG, sg) {
			alt++
		}
		return nil
	})
	return
}

// ---- writing ----

func normalizeSG(sg *SG) error {
	if !ValidSGName(sg.Name) {
		return fmt.Errorf("%w: %q is not a server group name (letters, digits, '-', '_', '.'; at most 63)", ErrBadInput, sg.Name)
	}
	for i, n := range sg.ApexNS {
		cn, err := CanonicalZoneName(n)
		if err != nil || cn == "." {
			return fmt.Errorf("%w: apex NS %q is not a host name", ErrBadInput, n)
		}
		sg.ApexNS[i] = cn
	}
	slices.Sort(sg.ApexNS)
	sg.ApexNS = slices.Compact(sg.ApexNS)
	if sg.SOAMname != "" {
		cn, err := CanonicalZoneName(sg.SOAMname)
		if err != nil {
			return fmt.Errorf("%w: soa_mname %q is not a host name", ErrBadInput, sg.SOAMname)
		}
		sg.SOAMname = cn
	}
	for _, a := range sg.MasterAddress {
		if _, err := ParseServerAddress(a); err != nil {
			return fmt.Errorf("%w: master address %q is not an IP address with an optional port", ErrBadInput, a)
		}
	}
	for _, p := range sg.AllowQuery {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return fmt.Errorf("%w: allow-query %q is not an address or prefix (192.0.2.0/24, 2001:db8::/32)", ErrBadInput, p)
			}
		}
	}
	if sg.CatalogZone == "" {
		sg.CatalogZone = DefaultCatalogZone(sg.Name)
	}
	cn, err := CanonicalZoneName(sg.CatalogZone)
	if err != nil || cn == "." {
		return fmt.Errorf("%w: catalog zone %q is not a zone name", ErrBadInput, sg.CatalogZone)
	}
	sg.CatalogZone = cn
	return nil
}

// CreateSG makes a server group and its catalog zone (DB.CreateSG in a
// commit of its own).
func (t *Txn) CreateSG(sg SG) error {
	if err := normalizeSG(&sg); err != nil {
		return err
	}
	b := t.tx.Bucket(bucketSGs)
	if b.Get(sgKey(sg.Name)) != nil {
		return fmt.Errorf("%w: %s", ErrSGExists, sg.Name)
	}
	sg.CTime, sg.MTime = t.now, t.now
	vd, err := getView(t.tx, sg.View)
	if err != nil {
		return err
	}
	sg.View = viewName(vd) // "" for the default view: SGs made before views read the same
	if err := t.putObjectJSON(objSG, sgKey(sg.Name), &sg); err != nil {
		return err
	}
	msg := "created, catalog zone " + sg.CatalogZone
	if sg.View != "" {
		msg += ", view " + sg.View
	}
	t.Event(LogEvent{Kind: EventSG, SG: sg.Name, Message: msg})
	_, err = t.createCatalog(&sg)
	return err
}

// CreateSG makes a server group and its catalog zone.
func (db *DB) CreateSG(sg SG, changeBy string) ([]ZoneCommit, error) {
	if err := normalizeSG(&sg); err != nil {
		return nil, err
	}
	return db.Change(changeBy, func(t *Txn) error { return t.CreateSG(sg) })
}

// UpdateSG changes a server group. A new apex NS set is written into every
// zone of the SG that has use_apex_ns on (a new instance each); a new
// catalog zone name makes a new catalog zone with the same members (and
// destroys the old one).
func (db *DB) UpdateSG(name, changeBy string, fn func(sg *SG) error) ([]ZoneCommit, error) {
	return db.Change(changeBy, func(t *Txn) error {
		old, err := getSG(t.tx, name)
		if err != nil {
			return err
		}
		sg := *old
		sg.ApexNS = slices.Clone(old.ApexNS)
		sg.MasterAddress = slices.Clone(old.MasterAddress)
		sg.AllowQuery = slices.Clone(old.AllowQuery)
		if err := fn(&sg); err != nil {
			return err
		}
		sg.Name, sg.View = old.Name, old.View
		if err := normalizeSG(&sg); err != nil {
			return err
		}
		sg.MTime = t.now
		if err := t.putObjectJSON(objSG, sgKey(sg.Name), &sg); err != nil {
			return err
		}
		if changed := sgChanges(old, &sg); len(changed) > 0 {
			t.Event(LogEvent{Kind: EventSG, SG: sg.Name, Message: "changed: " + strings.Join(changed, "; ")})
		}
		if sg.CatalogZone != old.CatalogZone {
			if err := t.destroyCatalog(viewLabel(old.View), old.CatalogZone); err != nil {
				return err
			}
			if _, err := t.createCatalog(&sg); err != nil {
				return err
			}
		}
		if !slices.Equal(sg.ApexNS, old.ApexNS) && len(sg.ApexNS) > 0 {
			return t.apexNSToZones(&sg)
		}
		return nil
	})
}

// sgChanges lists what changed in a server group, one "field old -> new"
// each.
func sgChanges(old, sg *SG) []string {
	o, _ := json.Marshal(old)
	n, _ := json.Marshal(sg)
	return jsonChanges(o, n, map[string]bool{"mtime": true, "ctime": true})
}

// apexNSToZones writes a server group's apex NS into each of its zones
// that has use_apex_ns on (apexNSFromSG makes the change).
func (t *Txn) apexNSToZones(sg *SG) error {
	var names, views []string
	err := t.tx.Bucket(bucketZones).ForEach(func(k, val []byte) error {
		var z Zone
		if err := json.Unmarshal(val, &z); err != nil {
			return err
		}
		if strings.EqualFold(z.SG, sg.Name) && z.UseApexNS && !z.Deleted && z.CatalogOf == "" {
			names = append(names, z.Name)
			views = append(views, viewLabel(z.View))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, name := range names {
		if _, err := t.Apply(ZoneChange{Zone: name, View: views[i], Comment: "apex NS from server group " + sg.Name}); err != nil {
			return err
		}
	}
	return nil
}

// RenameSG renames a server group: its zones (as primary or alternate
// SG) and servers follow, and a catalog zone of the default name takes the
// new name (its members kept).
func (t *Txn) RenameSG(name, newName string) error {
	old, err := getSG(t.tx, name)
	if err != nil {
		return err
	}
	if t.tx.Bucket(bucketSGs).Get(sgKey(newName)) != nil {
		return fmt.Errorf("%w: %s", ErrSGExists, newName)
	}
	sg := *old
	sg.Name = newName
	if old.CatalogZone == DefaultCatalogZone(old.Name) {
		sg.CatalogZone = ""
	}
	if err := normalizeSG(&sg); err != nil {
		return err
	}
	sg.MTime = t.now
	if err := t.putObject(objSG, sgKey(old.Name), nil); err != nil {
		return err
	}
	if err := t.putObjectJSON(objSG, sgKey(sg.Name), &sg); err != nil {
		return err
	}
	// The new catalog first (empty when its name is new: the zones join it
	// as their SG changes below; the old SG is gone, so they leave no
	// other), or the catalog of a name of its own marked as the new SG's.
	if sg.CatalogZone != old.CatalogZone {
		if _, err := t.createCatalog(&sg); err != nil {
			return err
		}
	} else if _, err := t.Apply(ZoneChange{Zone: sg.CatalogZone, View: viewLabel(sg.View), catalog: true, Update: func(cz *Zone) error {
		cz.SG, cz.CatalogOf = sg.Name, sg.Name
		return nil
	}}); err != nil {
		return err
	}
	// The zones: settings only (no new instance).
	var zones []Zone
	if err := t.tx.Bucket(bucketZones).ForEach(func(_, val []byte) error {
		var z Zone
		if err := json.Unmarshal(val, &z); err != nil {
			return err
		}
		if (strings.EqualFold(z.SG, old.Name) || strings.EqualFold(z.AltSG, old.Name)) && z.CatalogOf == "" {
			zones = append(zones, z)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, z := range zones {
		if _, err := t.Apply(ZoneChange{Zone: z.Name, View: viewLabel(z.View), Update: func(cz *Zone) error {
			if strings.EqualFold(cz.SG, old.Name) {
				cz.SG = sg.Name
			}
			if strings.EqualFold(cz.AltSG, old.Name) {
				cz.AltSG = sg.Name
			}
			return nil
		}}); err != nil {
			return err
		}
	}
	servers, err := t.View().Servers()
	if err != nil {
		return err
	}
	for _, srv := range servers {
		if strings.EqualFold(srv.SG, old.Name) {
			srv.SG = sg.Name
			if err := t.putObjectJSON(objServer, serverKey(srv.Name), &srv); err != nil {
				return err
			}
		}
	}
	if sg.CatalogZone != old.CatalogZone {
		if err := t.destroyCatalog(viewLabel(old.View), old.CatalogZone); err != nil {
			return err
		}
	}
	t.Event(LogEvent{Kind: EventSG, SG: sg.Name, Message: fmt.Sprintf("renamed from %s (%d zone(s) follow)", old.Name, len(zones))})
	return nil
}

// DeleteSG removes an empty server group (no zones, no servers) and its
// catalog zone.
// (DB.DeleteSG is it in a commit of its own.)
func (t *Txn) DeleteSG(name string) error {
	sg, err := getSG(t.tx, name)
	if err != nil {
		return err
	}
	v := t.View()
	p, a, err := v.ZoneCount(sg.Name)
	if err != nil {
		return err
	}
	if p+a > 0 {
		return fmt.Errorf("%w: %s has %d zone(s) (%d as alternate SG); move them first (dms zone set-sg, dms zone alt-sg clear)", ErrSGInUse, sg.Name, p+a, a)
	}
	servers, err := v.Servers()
	if err != nil {
		return err
	}
	for _, s := range servers {
		if strings.EqualFold(s.SG, sg.Name) {
			return fmt.Errorf("%w: server %s is in %s; move or delete it first (dms server move, dms server delete)", ErrSGInUse, s.Name, sg.Name)
		}
	}
	// Deleted zones may still name the SG: they keep the name, and
	// undelete checks it again.
	if err := t.destroyCatalog(viewLabel(sg.View), sg.CatalogZone); err != nil {
		return err
	}
	t.Event(LogEvent{Kind: EventSG, SG: sg.Name, Message: "deleted"})
	return t.putObject(objSG, sgKey(sg.Name), nil)
}

// DeleteSG is Txn.DeleteSG in a commit of its own, by nobody in
// particular (admin commits as its caller).
func (db *DB) DeleteSG(name string) error {
	_, err := db.Change("", func(t *Txn) error { return t.DeleteSG(name) })
	return err
}

func checkServer(tx *bolt.Tx, s *Server) error {
	if !ValidSGName(s.Name) {
		return fmt.Errorf("%w: %q is not a server name (letters, digits, '-', '_', '.'; at most 63)", ErrBadInput, s.Name)
	}
	ap, err := ParseServerAddress(s.Address)
	if err != nil {
		return err
	}
	s.Address = ap.String()
	sg, err := getSG(tx, s.SG)
	if err != nil {
		return err
	}
	s.SG = sg.Name
	if !slices.Contains(ServerTypes, s.Type) {
		return fmt.Errorf("%w: server type %q: use one of %s", ErrBadInput, s.Type, strings.Join(ServerTypes, ", "))
	}
	if s.TSIGKey != "" {
		s.TSIGKey = dns.CanonicalName(s.TSIGKey)
		if tx.Bucket(bucketTSIG).Get([]byte(s.TSIGKey)) == nil {
			return fmt.Errorf("%w: %s (create it with dms tsig create %s)", ErrKeyNotFound, KeyName(s.TSIGKey), KeyName(s.TSIGKey))
		}
	}
	// Two servers at one address would be one secondary seen twice,
	// unless they sign with different keys: a secondary with views (split
	// horizon) is one server per view, each view's transfers and NOTIFYs
	// told apart by its key.
	return tx.Bucket(bucketServers).ForEach(func(k, val []byte) error {
		var o Server
		if err := json.Unmarshal(val, &o); err != nil {
			return err
		}
		if !strings.EqualFold(o.Name, s.Name) && o.Address == s.Address && (o.TSIGKey == "" || s.TSIGKey == "" || o.TSIGKey == s.TSIGKey) {
			return fmt.Errorf("%w: server %s already has address %s (one secondary with views is one server per view, each with its own TSIG key)", ErrServerExists, o.Name, s.Address)
		}
		return nil
	})
}

// CreateServer adds a server.
func (t *Txn) CreateServer(s *Server) error {
	b := t.tx.Bucket(bucketServers)
	if b.Get(serverKey(s.Name)) != nil {
		return fmt.Errorf("%w: %s", ErrServerExists, s.Name)
	}
	if err := checkServer(t.tx, s); err != nil {
		return err
	}
	s.CTime, s.MTime = t.now, t.now
	t.Event(LogEvent{Kind: EventServer, Server: s.Name, Message: fmt.Sprintf("created in server group %s, address %s", s.SG, s.Address)})
	return t.putObjectJSON(objServer, serverKey(s.Name), s)
}

// CreateServer is Txn.CreateServer in a commit of its own.
func (db *DB) CreateServer(s Server) (*Server, error) {
	_, err := db.Change("", func(t *Txn) error { return t.CreateServer(&s) })
	return &s, err
}

// UpdateServer changes a server (its name too: a rename).
func (t *Txn) UpdateServer(name string, fn func(s *Server) error) (*Server, error) {
	var out *Server
	err := func() error {
		b := t.tx.Bucket(bucketServers)
		s, ok, err := getJSON[Server](b, serverKey(name), "server")
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: %s", ErrServerNotFound, name)
		}
		old, _ := json.Marshal(s)
		if err := fn(s); err != nil {
			return err
		}
		if !strings.EqualFold(s.Name, name) {
			if b.Get(serverKey(s.Name)) != nil {
				return fmt.Errorf("%w: %s", ErrServerExists, s.Name)
			}
			if err := t.putObject(objServer, serverKey(name), nil); err != nil {
				return err
			}
		}
		if err := checkServer(t.tx, s); err != nil {
			return err
		}
		s.MTime = t.now
		out = s
		cur, _ := json.Marshal(s)
		if changed := jsonChanges(old, cur, map[string]bool{"mtime": true, "ctime": true}); len(changed) > 0 {
			t.Event(LogEvent{Kind: EventServer, Server: s.Name, Message: "changed: " + strings.Join(changed, "; ")})
		}
		return t.putObjectJSON(objServer, serverKey(s.Name), s)
	}()
	return out, err
}

// UpdateServer is Txn.UpdateServer in a commit of its own.
func (db *DB) UpdateServer(name string, fn func(s *Server) error) (*Server, error) {
	var out *Server
	_, err := db.Change("", func(t *Txn) error {
		var err error
		out, err = t.UpdateServer(name, fn)
		return err
	})
	return out, err
}

// DeleteServer removes a server.
func (t *Txn) DeleteServer(name string) error {
	b := t.tx.Bucket(bucketServers)
	if b.Get(serverKey(name)) == nil {
		return fmt.Errorf("%w: %s", ErrServerNotFound, name)
	}
	t.Event(LogEvent{Kind: EventServer, Server: strings.ToLower(name), Message: "deleted"})
	return t.putObject(objServer, serverKey(name), nil)
}

// DeleteServer is Txn.DeleteServer in a commit of its own.
func (db *DB) DeleteServer(name string) error {
	_, err := db.Change("", func(t *Txn) error { return t.DeleteServer(name) })
	return err
}

// apexNSRecords are the apex NS records a zone of sg gets, with ttl.
func apexNSRecords(zone string, sg *SG, ttl uint32) []Record {
	out := make([]Record, len(sg.ApexNS))
	for i, n := range sg.ApexNS {
		out[i] = Record{RR: &dns.NS{Hdr: dns.RR_Header{Name: zone, Rrtype: dns.TypeNS, Class: dns.ClassINET, Ttl: ttl}, Ns: n}}
	}
	return out
}
