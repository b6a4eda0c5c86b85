package admin

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
	"dmsdns.org/dms/zonedb/zonefile"
)

// dms import bind: a BIND master's named.conf brought into dms. The CLI
// reads the configuration and the files it names into a plan
// (PlanBindImport); the operation import.bind checks the plan whole and
// commits it in one transaction, or rolls it back for --dry-run.

// BindImportRequest is the plan: what named.conf holds that dms takes,
// with the files' contents, and what it passes over and why.
type BindImportRequest struct {
	Conf  string     `json:"conf"`
	Files []string   `json:"files,omitempty"` // the configuration files read
	Keys  []BindTSIG `json:"keys,omitempty"`
	// Views are named's views in order, made dms views (split horizon).
	Views []BindView `json:"views,omitempty"`
	SGs   []BindSG   `json:"sgs,omitempty"`
	Zones []BindZone `json:"zones"`
	// XfrAllow are allow-transfer prefixes that are no server: they are
	// added to the config key xfr_allow.
	XfrAllow []string   `json:"xfr_allow,omitempty"`
	Skipped  []BindSkip `json:"skipped,omitempty"`
	DryRun   bool       `json:"dry_run,omitempty"`
}

// BindView is a view statement: its name and match-clients as dms rules.
type BindView struct {
	Name  string   `json:"name"`
	Match []string `json:"match,omitempty"`
	Where string   `json:"where"`
}

// BindTSIG is a key statement.
type BindTSIG struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm"`
	Secret    string `json:"secret,omitempty"`
	Where     string `json:"where"`
}

// BindSG is a server group made of the secondaries of zones that have
// the same ones.
type BindSG struct {
	Name          string       `json:"name"`
	View          string       `json:"view,omitempty"`
	MasterAddress []string     `json:"master_address,omitempty"`
	Servers       []BindServer `json:"servers"`
}

// BindServer is a secondary found in also-notify or allow-transfer.
type BindServer struct {
	Name    string `json:"name"`
	Address string `json:"address"` // with its port
	Key     string `json:"key,omitempty"`
	Type    string `json:"type"`
}

// BindZone is a primary zone with its file and, for a zone BIND signs,
// its keys from the key directory.
type BindZone struct {
	Name  string `json:"name"`
	View  string `json:"view,omitempty"`
	File  string `json:"file"`
	Text  string `json:"text,omitempty"`
	SG    string `json:"sg,omitempty"`
	Where string `json:"where"`
	// Signed: BIND signs it (dnssec-policy or auto-dnssec); NSEC3 when
	// its policy or its file says so.
	Signed bool          `json:"signed,omitempty"`
	NSEC3  bool          `json:"nsec3,omitempty"`
	Keys   []BindKeyFile `json:"dnssec_keys,omitempty"`
}

// BindKeyFile is a dnssec-keygen key pair.
type BindKeyFile struct {
	File    string `json:"file"`
	Key     string `json:"key,omitempty"`
	Private string `json:"private,omitempty"`
}

// BindSkip is something of named.conf the import leaves, and why.
type BindSkip struct {
	What  string `json:"what"`
	Why   string `json:"why"`
	Where string `json:"where,omitempty"`
}

// BindImportOptions are the choices the configuration cannot tell.
type BindImportOptions struct {
	// ServerType is the secondaries' software: bind9 (default), knot, nsd.
	ServerType string
	// SGName names the server groups: NAME, NAME-2, ... (default
	// "imported").
	SGName string
	// MasterAddress is where the secondaries will reach dms.
	MasterAddress []string
	// Now judges the key files' Inactive and Delete times.
	Now time.Time
}

// bindTarget is one secondary of a zone: its address and key.
type bindTarget struct {
	addr netip.AddrPort
	key  string
}

// namedOptionWhy says why a named option is not imported (the ones the
// import uses are not listed).
var namedOptionWhy = map[string]string{
	"listen-on":         "dms listens where dms serve --listen says",
	"listen-on-v6":      "dms listens where dms serve --listen says",
	"recursion":         "dms is authoritative only and never recurses",
	"allow-query":       "dms answers everyone unless a server group has --allow-query or views say otherwise",
	"pid-file":          "not needed by dms",
	"dnssec-validation": "dms does not validate (it does not resolve)",
	"notify":            "dms always notifies a zone's secondaries",
}

// PlanBindImport reads the named.conf at path, its includes, zone files
// and key files.
func PlanBindImport(path string, o BindImportOptions) (*BindImportRequest, error) {
	stmts, r, err := readNamedConf(path)
	if err != nil {
		return nil, err
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	p := &bindPlanner{o: o, plan: &BindImportRequest{Conf: path}, acls: map[string]*confStmt{}, lists: map[string]*confStmt{},
		policies: map[string]*confStmt{}, dir: r.dir}
	if p.dir == "" {
		p.dir = filepath.Dir(path)
	} else if !filepath.IsAbs(p.dir) {
		p.dir = filepath.Join(filepath.Dir(path), p.dir)
	}
	// Named things first: statements may use them before they appear.
	for _, s := range stmts {
		switch s.Name() {
		case "acl":
			p.acls[strings.ToLower(s.Arg(0))] = s
		case "masters", "primaries":
			p.lists[strings.ToLower(s.Arg(0))] = s
		case "dnssec-policy":
			p.policies[strings.ToLower(s.Arg(0))] = s
		case "options":
			p.options = s
		}
	}
	for _, s := range stmts {
		switch s.Name() {
		case "key":
			p.key(s)
		case "zone":
			if err := p.zone(s); err != nil {
				return nil, err
			}
		case "view":
			if err := p.view(s); err != nil {
				return nil, err
			}
		case "options":
			p.optionsSkips(s)
		case "acl", "masters", "primaries", "dnssec-policy":
		case "logging", "controls", "statistics-channels", "trusted-keys", "managed-keys", "trust-anchors", "server", "tls", "http", "plugin":
			p.skip(s.Name(), "no dms equivalent (dms has its own logs, control socket and metrics)", s)
		default:
			p.skip(s.Name(), "not known to this import", s)
		}
	}
	p.groups()
	p.plan.Files = r.files
	return p.plan, nil
}

type bindPlanner struct {
	o        BindImportOptions
	plan     *BindImportRequest
	options  *confStmt
	acls     map[string]*confStmt
	lists    map[string]*confStmt
	policies map[string]*confStmt
	dir      string
	// targets are each zone's secondaries (by zone index).
	targets [][]bindTarget
	// cur is the view statement whose zones are read (nil: top level),
	// curName its dms name.
	cur     *confStmt
	curName string
}

// view reads a view statement: a dms view with its match-clients as
// rules, and its zones and keys.
func (p *bindPlanner) view(s *confStmt) error {
	name := s.Arg(0)
	dn := name
	if !zonedb.ValidViewName(dn) {
		dn = strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '-'
		}, dn)
		if dn == "" || !(dn[0] >= 'a' && dn[0] <= 'z' || dn[0] >= 'A' && dn[0] <= 'Z') {
			dn = "v" + dn
		}
		if len(dn) > 32 {
			dn = dn[:32]
		}
		p.skip("view name "+name, "not a dms view name: imported as "+dn, s)
	}
	v := BindView{Name: dn, Where: s.Where()}
	if mc := s.Find("match-clients"); mc != nil {
		v.Match = p.viewRules(mc, name, false, 0)
	}
	if md := s.Find("match-destinations"); md != nil {
		p.skip("view "+name+" match-destinations", "dms chooses views by the client's address and key only", md)
	}
	p.plan.Views = append(p.plan.Views, v)
	p.cur, p.curName = s, dn
	defer func() { p.cur, p.curName = nil, "" }()
	for _, c := range s.Block {
		switch c.Name() {
		case "zone":
			if err := p.zone(c); err != nil {
				return err
			}
		case "key":
			p.key(c)
		case "match-clients", "match-destinations", "also-notify", "allow-transfer", "dnssec-policy", "key-directory":
		default:
			p.skip("view "+name+" "+c.Name(), "a view option without a dms equivalent", c)
		}
	}
	return nil
}

// viewRules turns a match-clients list into dms view rules.
func (p *bindPlanner) viewRules(s *confStmt, view string, neg bool, depth int) []string {
	var out []string
	bang := func(r string, n bool) string {
		if n {
			return "!" + r
		}
		return r
	}
	for _, e := range s.Block {
		w := e.Words
		if len(w) == 0 {
			p.skip("view "+view+" match-clients: a nested list", "not imported: write it as rules with dms view set", e)
			continue
		}
		n := neg
		if w[0] == "!" && len(w) > 1 {
			n, w = !n, w[1:]
		} else if strings.HasPrefix(w[0], "!") {
			n, w = !n, append([]string{w[0][1:]}, w[1:]...)
		}
		switch lw := strings.ToLower(w[0]); {
		case lw == "key" && len(w) > 1:
			out = append(out, bang("key:"+w[1], n))
		case lw == "any", lw == "none":
			out = append(out, bang(lw, n))
		case lw == "localhost":
			out = append(out, bang("127.0.0.1", n), bang("::1", n))
		case lw == "localnets":
			p.skip("view "+view+" match-clients localnets", "dms does not know the host's networks: give them as prefixes with dms view set", e)
		default:
			if _, err := zonedb.NormalizeViewRules([]string{w[0]}); err == nil {
				out = append(out, bang(w[0], n))
				continue
			}
			if acl := p.acls[lw]; acl != nil && depth < 8 {
				if n {
					p.skip("view "+view+" match-clients !"+w[0], "a negated acl is not imported: write it as rules with dms view set", e)
					continue
				}
				out = append(out, p.viewRules(acl, view, false, depth+1)...)
				continue
			}
			p.skip("view "+view+" match-clients "+w[0], "not an address, prefix, key or acl", e)
		}
	}
	return out
}

func (p *bindPlanner) skip(what, why string, s *confStmt) {
	where := ""
	if s != nil {
		where = s.Where()
	}
	p.plan.Skipped = append(p.plan.Skipped, BindSkip{What: what, Why: why, Where: where})
}

func (p *bindPlanner) key(s *confStmt) {
	k := BindTSIG{Name: dns.Fqdn(strings.ToLower(s.Arg(0))), Where: s.Where()}
	if a := s.Find("algorithm"); a != nil {
		k.Algorithm = strings.ToLower(a.Arg(0))
	}
	if sec := s.Find("secret"); sec != nil {
		k.Secret = sec.Arg(0)
	}
	if k.Secret == "" || k.Algorithm == "" {
		p.skip("key "+k.Name, "no algorithm or secret", s)
		return
	}
	p.plan.Keys = append(p.plan.Keys, k)
}

// optionsSkips names the options the import does not bring in.
func (p *bindPlanner) optionsSkips(s *confStmt) {
	used := []string{"directory", "key-directory", "also-notify", "allow-transfer", "dnssec-policy"}
	for _, o := range s.Block {
		if slices.Contains(used, o.Name()) {
			continue
		}
		why := namedOptionWhy[o.Name()]
		if why == "" {
			why = "a named option without a dms equivalent"
		}
		p.skip("option "+o.Name(), why, o)
	}
}

// opt is the zone's statement called name, else the options'.
func (p *bindPlanner) opt(z *confStmt, name string) *confStmt {
	if s := z.Find(name); s != nil {
		return s
	}
	if p.cur != nil {
		if s := p.cur.Find(name); s != nil {
			return s
		}
	}
	if p.options != nil {
		return p.options.Find(name)
	}
	return nil
}

func (p *bindPlanner) zone(s *confStmt) error {
	name := dns.Fqdn(strings.ToLower(s.Arg(0)))
	if class := strings.ToUpper(s.Arg(1)); class != "" && class != "IN" {
		p.skip("zone "+name, "class "+class+": dms serves class IN", s)
		return nil
	}
	typ := ""
	if t := s.Find("type"); t != nil {
		typ = strings.ToLower(t.Arg(0))
	}
	switch typ {
	case "master", "primary":
	case "slave", "secondary", "mirror":
		p.skip("zone "+name, "a secondary zone: its primary is elsewhere (dms is a master)", s)
		return nil
	case "forward":
		p.skip("zone "+name, "a forward zone: dms does not resolve", s)
		return nil
	case "hint":
		p.skip("zone "+name, "root hints: dms does not recurse", s)
		return nil
	default:
		p.skip("zone "+name, "type "+typ+": not a primary zone", s)
		return nil
	}
	if s.Find("update-policy") != nil || s.Find("allow-update") != nil {
		p.skip("zone "+name+" dynamic updates", "BIND's update rules are not read: give the TSIG keys update rights with dms tsig set-update, and the zone --inc-updates", s)
	}
	fs := s.Find("file")
	if fs == nil {
		return fmt.Errorf("%s: zone %s has no file", s.Where(), name)
	}
	file := fs.Arg(0)
	if !filepath.IsAbs(file) {
		file = filepath.Join(p.dir, file)
	}
	text, err := os.ReadFile(file)
	if err != nil {
		return fmt.Errorf("%s: zone %s: %w", s.Where(), name, err)
	}
	z := BindZone{Name: name, View: p.curName, File: file, Text: string(text), Where: s.Where()}
	if err := p.signing(s, &z); err != nil {
		return err
	}
	p.plan.Zones = append(p.plan.Zones, z)
	p.targets = append(p.targets, p.secondaries(s, name))
	return nil
}

// signing finds whether BIND signs the zone, and its keys.
func (p *bindPlanner) signing(s *confStmt, z *BindZone) error {
	policy := ""
	if ps := p.opt(s, "dnssec-policy"); ps != nil {
		policy = strings.ToLower(ps.Arg(0))
	}
	auto := ""
	if a := s.Find("auto-dnssec"); a != nil {
		auto = strings.ToLower(a.Arg(0))
	}
	switch {
	case policy != "" && policy != "none":
		z.Signed = true
		if pol := p.policies[policy]; pol != nil && pol.Find("nsec3param") != nil {
			z.NSEC3 = true
		}
	case auto == "maintain" || auto == "allow":
		z.Signed = true
		z.NSEC3 = strings.Contains(strings.ToUpper(z.Text), "NSEC3PARAM")
	default:
		return nil
	}
	kdir := p.dir
	if kd := p.opt(s, "key-directory"); kd != nil {
		kdir = kd.Arg(0)
		if !filepath.IsAbs(kdir) {
			kdir = filepath.Join(p.dir, kdir)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(kdir, "K"+strings.TrimSuffix(z.Name, ".")+".+*.key"))
	sort.Strings(matches)
	for _, kf := range matches {
		key, err := os.ReadFile(kf)
		if err != nil {
			return err
		}
		priv, err := os.ReadFile(strings.TrimSuffix(kf, ".key") + ".private")
		if err != nil {
			p.skip("key file "+kf, "no .private file beside it", s)
			continue
		}
		if when, gone := keyGone(string(key), p.o.Now); gone {
			p.skip("key file "+kf, "retired: its "+when+" time has passed", s)
			continue
		}
		z.Keys = append(z.Keys, BindKeyFile{File: kf, Key: string(key), Private: string(priv)})
	}
	if len(z.Keys) == 0 {
		return fmt.Errorf("%s: zone %s is signed by BIND but %s holds no key pair for it (K%s+*.key and .private): without them the DS at the parent would have to change",
			s.Where(), z.Name, kdir, strings.TrimSuffix(z.Name, "."))
	}
	return nil
}

// keyGone says whether a .key file's Inactive or Delete time is past.
func keyGone(key string, now time.Time) (string, bool) {
	for _, l := range strings.Split(key, "\n") {
		l = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(l), ";"))
		for _, what := range []string{"Inactive", "Delete"} {
			if v, ok := strings.CutPrefix(l, what+":"); ok {
				f := strings.Fields(v)
				if len(f) == 0 {
					continue
				}
				if t, err := time.Parse("20060102150405", f[0]); err == nil && !t.After(now) {
					return what, true
				}
			}
		}
	}
	return "", false
}

// secondaries are the zone's servers: also-notify's addresses (with their
// port and key) and allow-transfer's single addresses; allow-transfer's
// prefixes go to xfr_allow, and its one key (if one) is the key of the
// servers without one.
func (p *bindPlanner) secondaries(z *confStmt, zone string) []bindTarget {
	var out []bindTarget
	add := func(t bindTarget) {
		for i := range out {
			if out[i].addr.Addr() == t.addr.Addr() {
				if out[i].key == "" {
					out[i].key = t.key
				}
				return
			}
		}
		out = append(out, t)
	}
	if an := p.opt(z, "also-notify"); an != nil {
		for _, t := range p.addrList(an, zone, 0) {
			add(t)
		}
	}
	var keys []string
	if at := p.opt(z, "allow-transfer"); at != nil {
		ts, k := p.matchList(at, zone, 0)
		keys = k
		for _, t := range ts {
			add(t)
		}
	}
	if len(keys) == 1 {
		for i := range out {
			if out[i].key == "" {
				out[i].key = keys[0]
			}
		}
	}
	return out
}

// portOf reads "port N" from words at i.
func portOf(words []string) uint16 {
	for i := 0; i+1 < len(words); i++ {
		if strings.EqualFold(words[i], "port") {
			if n, err := strconv.Atoi(words[i+1]); err == nil && n > 0 && n < 65536 {
				return uint16(n)
			}
		}
	}
	return 0
}

// addrList reads an also-notify (or primaries) list: addresses with an
// optional port and key, and names of primaries lists.
func (p *bindPlanner) addrList(s *confStmt, zone string, depth int) []bindTarget {
	def := portOf(s.Words)
	if def == 0 {
		def = 53
	}
	var out []bindTarget
	for _, e := range s.Block {
		if len(e.Words) == 0 {
			continue
		}
		a, err := netip.ParseAddr(e.Words[0])
		if err != nil {
			if l := p.lists[strings.ToLower(e.Words[0])]; l != nil && depth < 8 {
				out = append(out, p.addrList(l, zone, depth+1)...)
				continue
			}
			p.skip(zone+" "+s.Name()+" "+strings.Join(e.Words, " "), "not an address or a primaries list", e)
			continue
		}
		port := portOf(e.Words)
		if port == 0 {
			port = def
		}
		t := bindTarget{addr: netip.AddrPortFrom(a.Unmap(), port)}
		for i := 0; i+1 < len(e.Words); i++ {
			if strings.EqualFold(e.Words[i], "key") {
				t.key = dns.Fqdn(strings.ToLower(e.Words[i+1]))
			}
		}
		out = append(out, t)
	}
	return out
}

// matchList reads an allow-transfer list: single addresses are servers,
// key elements the keys allowed, prefixes go to xfr_allow; acl names are
// followed.
func (p *bindPlanner) matchList(s *confStmt, zone string, depth int) ([]bindTarget, []string) {
	var out []bindTarget
	var keys []string
	for _, e := range s.Block {
		if len(e.Words) == 0 {
			if len(e.Block) > 0 { // a nested list
				t, k := p.matchList(e, zone, depth+1)
				out, keys = append(out, t...), append(keys, k...)
			}
			continue
		}
		w := e.Words[0]
		switch lw := strings.ToLower(w); {
		case strings.HasPrefix(w, "!"):
			p.skip(zone+" allow-transfer "+strings.Join(e.Words, " "), "a negated element: dms lets a zone's servers and xfr_allow transfer, nobody else", e)
		case lw == "key" && len(e.Words) > 1:
			keys = append(keys, dns.Fqdn(strings.ToLower(e.Words[1])))
		case lw == "none", lw == "localhost", lw == "localnets":
		case lw == "any":
			p.skip(zone+" allow-transfer any", "dms lets a zone's servers and xfr_allow hosts transfer; add prefixes to xfr_allow for more", e)
		default:
			if a, err := netip.ParseAddr(w); err == nil {
				out = append(out, bindTarget{addr: netip.AddrPortFrom(a.Unmap(), 53)})
				continue
			}
			if pf, err := netip.ParsePrefix(w); err == nil {
				if !slices.Contains(p.plan.XfrAllow, pf.Masked().String()) {
					p.plan.XfrAllow = append(p.plan.XfrAllow, pf.Masked().String())
				}
				continue
			}
			if acl := p.acls[lw]; acl != nil && depth < 8 {
				t, k := p.matchList(acl, zone, depth+1)
				out, keys = append(out, t...), append(keys, k...)
				continue
			}
			p.skip(zone+" allow-transfer "+w, "not an address, prefix, key or acl", e)
		}
	}
	return out, keys
}

// groups makes the server groups: zones with the same secondaries share
// one; sets that share a secondary are merged (a dms server belongs to one
// group), which the plan says, since then every server of the group may
// transfer, and is notified of, every zone of it.
func (p *bindPlanner) groups() {
	base := cmpOr(p.o.SGName, "imported")
	typ := cmpOr(p.o.ServerType, "bind9")
	group := make([]int, len(p.targets)) // zone -> group index, -1 none
	var members [][]bindTarget           // group -> its servers
	var gview []string                   // group -> its view
	vk := func(zi int, t bindTarget) string { return p.plan.Zones[zi].View + "|" + t.addr.Addr().String() }
	var zones [][]int          // group -> its zones
	byAddr := map[string]int{} // view and address -> group
	for i, ts := range p.targets {
		group[i] = -1
		if len(ts) == 0 {
			continue
		}
		g := -1
		for _, t := range ts {
			if h, ok := byAddr[vk(i, t)]; ok {
				if g >= 0 && g != h { // two groups meet: fold h into g
					for _, t2 := range members[h] {
						byAddr[vk(i, t2)] = g
					}
					members[g] = append(members[g], members[h]...)
					members[h] = nil
					for _, zi := range zones[h] {
						group[zi] = g
					}
					zones[g] = append(zones[g], zones[h]...)
					zones[h] = nil
				} else {
					g = h
				}
			}
		}
		if g < 0 {
			g = len(members)
			members, zones, gview = append(members, nil), append(zones, nil), append(gview, p.plan.Zones[i].View)
		}
		for _, t := range ts {
			if h, ok := byAddr[vk(i, t)]; ok && h == g {
				for j := range members[g] {
					if members[g][j].addr.Addr() == t.addr.Addr() && members[g][j].key == "" {
						members[g][j].key = t.key
					}
				}
				continue
			}
			byAddr[vk(i, t)] = g
			members[g] = append(members[g], t)
		}
		group[i] = g
		zones[g] = append(zones[g], i)
	}
	names := map[int]string{}
	servers := map[string]bool{}
	for g, ms := range members {
		if len(ms) == 0 {
			continue
		}
		name := base
		if len(p.plan.SGs) > 0 {
			name = fmt.Sprintf("%s-%d", base, len(p.plan.SGs)+1)
		}
		names[g] = name
		slices.SortFunc(ms, func(a, b bindTarget) int { return a.addr.Compare(b.addr) })
		sg := BindSG{Name: name, View: gview[g], MasterAddress: p.o.MasterAddress}
		for _, t := range ms {
			sn := strings.ReplaceAll(t.addr.Addr().String(), ":", "-")
			if servers[sn] {
				sn += "-" + name // the same secondary in another view's group
			}
			servers[sn] = true
			sg.Servers = append(sg.Servers, BindServer{Name: sn, Address: t.addr.String(), Key: t.key, Type: typ})
		}
		p.plan.SGs = append(p.plan.SGs, sg)
		// Zones whose own secondaries were fewer than the group's.
		for _, zi := range zones[g] {
			if len(p.targets[zi]) != len(ms) {
				p.skip("zone "+p.plan.Zones[zi].Name+": its own secondaries", fmt.Sprintf("server group %s has %d servers, the zone had %d (zones whose secondaries overlap share one group)", name, len(ms), len(p.targets[zi])), nil)
			}
		}
	}
	for i := range p.plan.Zones {
		if group[i] >= 0 {
			p.plan.Zones[i].SG = names[group[i]]
		}
	}
}

// BindImportResult is what the import did (or would do, with DryRun).
type BindImportResult struct {
	DryRun  bool                `json:"dry_run,omitempty"`
	Views   int                 `json:"views,omitempty"`
	Zones   int                 `json:"zones"`
	Signed  int                 `json:"signed_zones"`
	Keys    int                 `json:"tsig_keys"`
	SGs     int                 `json:"sgs"`
	Servers int                 `json:"servers"`
	Dropped int                 `json:"dnssec_records_dropped"`
	Commits []zonedb.ZoneCommit `json:"commits,omitempty"`
	Notes   []string            `json:"notes,omitempty"`
}

// errDryRun rolls a dry run's transaction back.
var errDryRun = errors.New("dry run")

// signerOwned are the types dms's signer makes: a BIND-signed zone file's
// signatures, chain and keys are dropped and made anew from the same keys.
var signerOwned = []uint16{dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3, dns.TypeNSEC3PARAM, dns.TypeDNSKEY, dns.TypeCDS, dns.TypeCDNSKEY, 65534}

// ImportBind commits a plan of dms import bind in one transaction: keys,
// server groups with their servers, every zone with its keys (signed by
// dms with BIND's keys, so the DS at the parent stays). Every zone file
// problem is reported (file and line) before anything is written; with
// DryRun the whole commit is made and rolled back.
func (s *Service) ImportBind(ctx context.Context, c Caller, req BindImportRequest) (*BindImportResult, error) {
	if err := adminOnly(c, "import a BIND configuration"); err != nil {
		return nil, err
	}
	var cfg Config
	if err := s.read(c, func(v *zonedb.View) error { cfg = s.config(v); return nil }); err != nil {
		return nil, err
	}
	res := &BindImportResult{DryRun: req.DryRun}
	var problems zonedb.Problems
	changes := make([]zonedb.ZoneChange, 0, len(req.Zones))
	now := time.Now().UTC()
	for _, bz := range req.Zones {
		zc, dropped, err := s.bindZoneChange(c, cfg, bz, now)
		if err != nil {
			var ps zonedb.Problems
			if errors.As(err, &ps) {
				problems = append(problems, ps...)
			} else {
				problems = append(problems, zonedb.Problem{Code: "import", Message: err.Error()})
			}
			continue
		}
		res.Dropped += dropped
		changes = append(changes, zc)
	}
	if len(problems) > 0 {
		return nil, &Error{Code: CodeBadInput, Message: fmt.Sprintf("%d zone file problem(s) in %s; nothing imported", len(problems), req.Conf), Problems: problems}
	}
	xfrAllow := mergeList(cfg[zonedb.ConfigXfrAllow], req.XfrAllow)
	commits, err := s.db.Change(c.ChangeBy(), func(t *zonedb.Txn) error {
		if err := t.UseView(c.View); err != nil {
			return err
		}
		for _, k := range req.Keys {
			if err := t.PutTSIGKey(&zonedb.TSIGKey{Name: k.Name, Algorithm: k.Algorithm, Secret: k.Secret}); err != nil {
				return fmt.Errorf("key %s (%s): %w", k.Name, k.Where, err)
			}
		}
		for _, v := range req.Views {
			var err error
			if strings.EqualFold(v.Name, zonedb.DefaultView) {
				_, err = t.SetView(v.Name, append([]string{}, v.Match...), nil)
			} else {
				_, err = t.CreateView(v.Name, v.Match, 0)
			}
			if err != nil {
				return fmt.Errorf("view %s (%s): %w", v.Name, v.Where, err)
			}
		}
		for _, sg := range req.SGs {
			if err := t.CreateSG(zonedb.SG{Name: sg.Name, View: cmpOr(sg.View, c.View), MasterAddress: sg.MasterAddress}); err != nil {
				return fmt.Errorf("server group %s: %w (choose other names with --sg-name)", sg.Name, err)
			}
			for _, srv := range sg.Servers {
				if err := t.CreateServer(&zonedb.Server{Name: srv.Name, Address: srv.Address, SG: sg.Name, Type: srv.Type, TSIGKey: srv.Key}); err != nil {
					return fmt.Errorf("server %s of %s: %w", srv.Name, sg.Name, err)
				}
			}
		}
		if xfrAllow != cfg[zonedb.ConfigXfrAllow] {
			if err := t.SetConfig(map[string]string{zonedb.ConfigXfrAllow: xfrAllow}); err != nil {
				return err
			}
		}
		for i := range changes {
			if _, err := t.Apply(changes[i]); err != nil {
				return fmt.Errorf("zone %s (%s): %w", changes[i].Zone, req.Zones[i].Where, err)
			}
		}
		if req.DryRun {
			return errDryRun
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDryRun) {
		return nil, err
	}
	res.Commits = commits
	res.Zones, res.Keys, res.SGs, res.Views = len(changes), len(req.Keys), len(req.SGs), len(req.Views)
	for _, z := range req.Zones {
		if z.Signed {
			res.Signed++
		}
	}
	for _, sg := range req.SGs {
		res.Servers += len(sg.Servers)
		if len(sg.MasterAddress) == 0 {
			res.Notes = append(res.Notes, fmt.Sprintf("server group %s: say where its secondaries reach dms: dms sg set %s --master-address ADDRESS", sg.Name, sg.Name))
		}
	}
	if res.Dropped > 0 {
		res.Notes = append(res.Notes, fmt.Sprintf("%d DNSSEC records of BIND-signed zone files were dropped: dms signs those zones itself, with BIND's keys (the DS at the parent stays)", res.Dropped))
	}
	return res, nil
}

// bindZoneChange parses one zone of the plan into its creating change.
func (s *Service) bindZoneChange(c Caller, cfg Config, bz BindZone, now time.Time) (zonedb.ZoneChange, int, error) {
	name, err := zonedb.CanonicalZoneName(bz.Name)
	if err != nil {
		return zonedb.ZoneChange{}, 0, fmt.Errorf("%s: zone %q: %v", bz.Where, bz.Name, err)
	}
	text, err := zonefile.ParseText(strings.NewReader(bz.Text), zonefile.ParseOptions{
		File: bz.File, Origin: name, DefaultTTL: cfg.TTL("zone_ttl"), AllowInclude: true, IncludeDir: filepath.Dir(bz.File), MaxRecords: maxRecords(c, cfg),
	})
	if err != nil {
		return zonedb.ZoneChange{}, 0, err
	}
	recs := text.Records[:0]
	dropped := 0
	for _, r := range text.Records {
		if slices.Contains(signerOwned, r.RR.Header().Rrtype) {
			dropped++
			continue
		}
		recs = append(recs, r)
	}
	no := false
	meta := s.newZoneMeta(c, cfg, bz.SG, nil, nil, &no, nil, nil)
	ref := cmpOr(soaRef(recs), cfg["default_ref"])
	zc := zonedb.ZoneChange{Zone: name, View: bz.View, Create: meta, Ref: ref, Replace: true, Records: recs, Serial: zonedb.SerialKeep,
		SetComments: true, Comments: text.Comments, Comment: "imported from BIND (" + bz.Where + ")"}
	if !bz.Signed {
		return zc, dropped, nil
	}
	var keys []zonedb.DNSSECKey
	haveZSK := false
	for _, kf := range bz.Keys {
		k, err := dnssec.ImportBIND(name, []byte(kf.Key), []byte(kf.Private))
		if err != nil {
			return zc, 0, fmt.Errorf("%s: %v", kf.File, err)
		}
		role := "zsk"
		if k.IsSEP() {
			role = "ksk"
		}
		haveZSK = haveZSK || role == "zsk"
		keys = append(keys, dnssec.NewStoredKey(k, role, "active", now))
	}
	for i := range keys {
		if !haveZSK {
			keys[i].Role = "csk" // a lone SEP key signs everything
		}
	}
	p := dnssec.DefaultParams()
	p.NSEC3 = bz.NSEC3
	meta.DNSSEC, meta.NSEC3, meta.Params = true, p.NSEC3, &p
	zc.SetKeys, zc.SignAll = &keys, true
	return zc, dropped, nil
}

// mergeList adds items to a space-separated config list, once each.
func mergeList(list string, items []string) string {
	f := strings.Fields(list)
	for _, it := range items {
		if !slices.Contains(f, it) {
			f = append(f, it)
		}
	}
	return strings.Join(f, " ")
}
