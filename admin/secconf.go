package admin

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"dmsdns.org/dms/zonedb"
)

// Configurations for the secondaries dms feeds (DESIGN.md, "Transfers and
// NOTIFY"): what an admin pastes into named.conf, knot.conf or nsd.conf so
// that the server slaves the zones of its server group. BIND and Knot read
// the SG's catalog zone (RFC 9432, version 2) and follow its members; NSD
// 4.6 cannot, so its configuration lists the zones and must be printed again
// when they change. The output is deterministic so it can be golden-tested.

// Paths on the secondary (Debian 12 defaults: the directories exist and are
// writable by the server's user).
const (
	bindDir      = "/var/lib/bind"
	bindCacheDir = "/var/cache/bind" // named's working directory
	knotDir      = "/var/lib/knot"
	nsdDir       = "/var/lib/nsd"
)

// bindOptionsMarker starts the part of a BIND configuration that goes into
// the options statement (or a view) rather than at the top level.
const bindOptionsMarker = "// ---- inside options { ... }; (or the view that holds the catalog zone) ----"

// secConf is what every format needs, checked and normalized.
type secConf struct {
	server, sg string // as the admin named them, for comments
	id         string // lower-case SG name, for identifiers
	catalog    string // absolute, lower case
	masters    []netip.AddrPort
	addrs      []netip.Addr // masters' addresses without ports, for ACLs
	key        *zonedb.TSIGKey
	keyName    string // the key's name as configurations spell it (KeyName)
	alg        string // short algorithm name
	full       bool   // a whole configuration file, not a part to paste
	keyFile    string // include the key from this file instead of printing it
	allowQuery []string
	members    []string
}

// SecConfOptions change what SecondaryConfig prints.
type SecConfOptions struct {
	// Full: a whole configuration file for a new secondary: the server's
	// options (catalog zones inside BIND's options) around the same
	// statements, to be used as it is.
	Full bool
	// KeyFile: the server's key is in this file on the secondary (as dms
	// tsig create --key-file wrote it, in the server's syntax): the
	// configuration includes it instead of defining the key again, which
	// the server would refuse.
	KeyFile string
}

// SecondaryConfig is the configuration a secondary needs to slave the zones of its server group from dms.
//
// key is the server's TSIG key (nil when it has none); members are the zone
// names in the SG's catalog, needed only for NSD, which has no catalog
// zones. The masters are sg.MasterAddress in the admin's order (the order
// secondaries try them in). The text is ready to paste, with a comment
// header naming the server, the SG and the command that printed it.
func SecondaryConfig(srv zonedb.Server, sg zonedb.SG, key *zonedb.TSIGKey, members []string, o SecConfOptions) (string, error) {
	c, err := newSecConf(srv, sg, key, members)
	if err != nil {
		return "", err
	}
	c.full = o.Full
	if o.KeyFile != "" {
		if key == nil {
			return "", fmt.Errorf("%w: server %s has no TSIG key, so there is no key file to include", zonedb.ErrBadInput, srv.Name)
		}
		if !strings.HasPrefix(o.KeyFile, "/") || strings.ContainsAny(o.KeyFile, "\"\\\n;{}#") {
			return "", fmt.Errorf("%w: key file %q: give the absolute path of the key file on the secondary (no quotes, braces, ';' or '#')", zonedb.ErrBadInput, o.KeyFile)
		}
		c.keyFile = o.KeyFile
	}
	switch srv.Type {
	case "bind9":
		return c.bind9(), nil
	case "knot":
		return c.knot(), nil
	case "nsd":
		return c.nsd(), nil
	}
	return "", fmt.Errorf("%w: server %s has type %q; dms prints configurations for %s", zonedb.ErrBadInput, srv.Name, srv.Type, strings.Join(zonedb.ServerTypes, ", "))
}

// configName reports whether a name can go into every configuration format
// unquoted and unescaped: no comment, quote, brace, bracket, separator or
// space characters. Names with others are legal in DNS but rare; refusing
// them beats printing a configuration that means something else.
func configName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./*", r)
		if !ok {
			return false
		}
	}
	return true
}

func newSecConf(srv zonedb.Server, sg zonedb.SG, key *zonedb.TSIGKey, members []string) (*secConf, error) {
	if !zonedb.ValidSGName(srv.Name) {
		return nil, fmt.Errorf("%w: %q is not a server name", zonedb.ErrBadInput, srv.Name)
	}
	if !zonedb.ValidSGName(sg.Name) {
		return nil, fmt.Errorf("%w: %q is not a server group name", zonedb.ErrBadInput, sg.Name)
	}
	if srv.SG != "" && !strings.EqualFold(srv.SG, sg.Name) {
		return nil, fmt.Errorf("%w: server %s is in server group %s, not %s", zonedb.ErrBadInput, srv.Name, srv.SG, sg.Name)
	}
	if !slices.Contains(zonedb.ServerTypes, srv.Type) {
		return nil, fmt.Errorf("%w: server %s has type %q; dms prints configurations for %s", zonedb.ErrBadInput, srv.Name, srv.Type, strings.Join(zonedb.ServerTypes, ", "))
	}
	c := &secConf{server: srv.Name, sg: sg.Name, id: strings.ToLower(sg.Name), key: key}
	if len(sg.MasterAddress) == 0 {
		return nil, fmt.Errorf("%w: server group %s has no master address, so its secondaries would not know where to reach dms; set it with dms sg set %s --master-address ADDR", zonedb.ErrBadInput, sg.Name, sg.Name)
	}
	for _, a := range sg.MasterAddress {
		ap, err := zonedb.ParseServerAddress(a)
		if err != nil {
			return nil, fmt.Errorf("server group %s: master address: %w", sg.Name, err)
		}
		if !slices.Contains(c.masters, ap) {
			c.masters = append(c.masters, ap)
		}
		if !slices.Contains(c.addrs, ap.Addr()) {
			c.addrs = append(c.addrs, ap.Addr())
		}
	}
	catalog := sg.CatalogZone
	if catalog == "" {
		catalog = zonedb.DefaultCatalogZone(sg.Name)
	}
	cat, err := zonedb.CanonicalZoneName(catalog)
	if err != nil || cat == "." || !configName(cat) {
		return nil, fmt.Errorf("%w: server group %s: catalog zone %q cannot be written into a secondary's configuration (use letters, digits, '-' and '_')", zonedb.ErrBadInput, sg.Name, catalog)
	}
	c.catalog = cat
	if key != nil {
		if !configName(key.Name) {
			return nil, fmt.Errorf("%w: TSIG key name %q cannot be written into a secondary's configuration", zonedb.ErrBadInput, key.Name)
		}
		c.keyName = zonedb.KeyName(key.Name)
		c.alg = zonedb.ShortAlgorithm(key.Algorithm)
		if _, ok := zonedb.TSIGAlgorithms[c.alg]; !ok {
			return nil, fmt.Errorf("%w: TSIG key %s has algorithm %q, which secondaries do not know", zonedb.ErrBadInput, key.Name, key.Algorithm)
		}
		if key.Secret == "" || strings.IndexFunc(key.Secret, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '+' || r == '/' || r == '=')
		}) >= 0 {
			return nil, fmt.Errorf("%w: TSIG key %s: secret is not base64", zonedb.ErrBadInput, key.Name)
		}
	}
	for _, p := range sg.AllowQuery {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			a, err := netip.ParseAddr(p)
			if err != nil || a.Zone() != "" {
				return nil, fmt.Errorf("%w: server group %s: allow-query %q is not an address or prefix", zonedb.ErrBadInput, sg.Name, p)
			}
			pfx = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if s := pfx.Masked().String(); !slices.Contains(c.allowQuery, s) {
			c.allowQuery = append(c.allowQuery, s)
		}
	}
	if srv.Type == "nsd" {
		for _, m := range members {
			z, err := zonedb.CanonicalZoneName(m)
			if err != nil || !configName(z) {
				return nil, fmt.Errorf("%w: zone %q cannot be written into an NSD configuration", zonedb.ErrBadInput, m)
			}
			c.members = append(c.members, z)
		}
		slices.Sort(c.members)
		c.members = slices.Compact(c.members)
	}
	return c, nil
}

// header is the comment block that opens every configuration.
func (c *secConf) header(b *strings.Builder, comment, program string) {
	fmt.Fprintf(b, "%s %s configuration for secondary %s of dms server group %s.\n", comment, program, c.server, c.sg)
	if c.full {
		fmt.Fprintf(b, "%s generated by dms server config --full %s: a whole configuration file.\n", comment, c.server)
		return
	}
	fmt.Fprintf(b, "%s generated by dms server config %s\n", comment, c.server)
}

// catalogName is the catalog zone's name without the final dot, as BIND
// writes zone names and file names.
func (c *secConf) catalogName() string { return strings.TrimSuffix(c.catalog, ".") }

func (c *secConf) bind9() string {
	var b strings.Builder
	c.header(&b, "//", "BIND 9.18 (named.conf)")
	b.WriteString("// The server group's zones are the members of its catalog zone (RFC 9432);\n")
	b.WriteString("// named adds and removes them as the catalog changes.\n")
	var top, opts strings.Builder
	keyRef := ""
	if c.key != nil {
		if c.keyFile != "" {
			fmt.Fprintf(&top, "// key %q, as dms tsig create %s --key-file wrote it.\ninclude %q;\n\n", c.keyName, c.keyName, c.keyFile)
		} else {
			fmt.Fprintf(&top, "key %q {\n\talgorithm %s;\n\tsecret %q;\n};\n\n", c.keyName, c.alg, c.key.Secret)
		}
		keyRef = fmt.Sprintf(" key %q", c.keyName)
	}
	list := "dms-" + c.id
	fmt.Fprintf(&top, "primaries %q {\n", list)
	for _, m := range c.masters {
		fmt.Fprintf(&top, "\t%s port %d%s;\n", m.Addr(), m.Port(), keyRef)
	}
	top.WriteString("};\n\n")
	fmt.Fprintf(&top, "zone %q {\n\ttype secondary;\n\tfile %q;\n\tprimaries { %q; };\n};\n",
		c.catalogName(), bindDir+"/"+c.catalogName()+".db", list)

	in := "" // the options part's indent in a whole file
	if c.full {
		in = "\t"
	} else {
		opts.WriteString("// named takes one catalog-zones statement per view: if there is one\n")
		opts.WriteString("// already, add this zone clause to it.\n")
	}
	opts.WriteString(in + "catalog-zones {\n")
	fmt.Fprintf(&opts, "%s\tzone %q\n%s\t\tdefault-primaries {", in, c.catalogName(), in)
	for _, m := range c.masters {
		fmt.Fprintf(&opts, " %s port %d%s;", m.Addr(), m.Port(), keyRef)
	}
	fmt.Fprintf(&opts, " }\n%s\t\tzone-directory %q\n%s\t\tin-memory no;\n%s};\n", in, bindDir, in, in)
	if len(c.allowQuery) > 0 {
		fmt.Fprintf(&opts, "%s// Server group %s is private: only these clients may query its zones.\n", in, c.sg)
		fmt.Fprintf(&opts, "%s// Member zones take allow-query from options or their view, so this\n", in)
		fmt.Fprintf(&opts, "%s// applies to every zone there; use a view of their own if others must stay public.\n", in)
		opts.WriteString(in + "allow-query {")
		for _, p := range c.allowQuery {
			fmt.Fprintf(&opts, " %s;", p)
		}
		opts.WriteString(" };\n")
	}
	if c.full {
		b.WriteString("// A secondary that only serves: no recursion, no transfers onwards.\n\n")
		b.WriteString("options {\n")
		fmt.Fprintf(&b, "\tdirectory %q;\n", bindCacheDir)
		b.WriteString("\trecursion no;\n\tallow-transfer { none; };\n\tnotify no;\n\tdnssec-validation no;\n\tlisten-on { any; };\n\tlisten-on-v6 { any; };\n")
		b.WriteString(opts.String())
		b.WriteString("};\n\n")
		b.WriteString(top.String())
		return b.String()
	}
	b.WriteString("// Put what follows at the top level of named.conf (with views, the zone\n")
	b.WriteString("// statement goes into the view that should serve the zones).\n\n")
	b.WriteString(top.String())
	b.WriteString("\n" + bindOptionsMarker + "\n")
	b.WriteString(opts.String())
	return b.String()
}

// knotList is a Knot list value: one item bare, more in brackets.
func knotList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return "[ " + strings.Join(items, ", ") + " ]"
}

func (c *secConf) knot() string {
	var b strings.Builder
	c.header(&b, "#", "Knot DNS 3.2 (knot.conf)")
	b.WriteString("# The server group's zones are the members of its catalog zone (RFC 9432);\n")
	b.WriteString("# knotd adds and removes them as the catalog changes.\n")
	if c.full {
		b.WriteString("\nserver:\n    rundir: \"/run/knot\"\n    user: knot:knot\n    listen: [ 0.0.0.0@53, ::@53 ]\n\n")
		b.WriteString("log:\n  - target: syslog\n    any: info\n\n")
		fmt.Fprintf(&b, "database:\n    storage: %q\n\n", knotDir)
	} else {
		b.WriteString("# Merge these sections into knot.conf, or save this file and include it\n")
		b.WriteString("# (include: FILE) after the server section.\n\n")
	}
	if c.key != nil {
		if c.keyFile != "" {
			fmt.Fprintf(&b, "# key %s, as dms tsig create %s --key-file --key-format knot wrote it.\ninclude: %q\n\n", c.keyName, c.keyName, c.keyFile)
		} else {
			fmt.Fprintf(&b, "key:\n  - id: %s\n    algorithm: %s\n    secret: %s\n\n", c.keyName, c.alg, c.key.Secret)
		}
	}
	remote := "dms-" + c.id
	acl := remote + "-notify"
	tmpl := "catalog-" + c.id
	var addrs, hosts []string
	for _, m := range c.masters {
		addrs = append(addrs, m.Addr().String()+"@"+strconv.Itoa(int(m.Port())))
	}
	for _, a := range c.addrs {
		hosts = append(hosts, a.String())
	}
	fmt.Fprintf(&b, "remote:\n  - id: %s\n    address: %s\n", remote, knotList(addrs))
	if c.key != nil {
		fmt.Fprintf(&b, "    key: %s\n", c.keyName)
	}
	b.WriteString("\n# NOTIFY from dms.\n")
	fmt.Fprintf(&b, "acl:\n  - id: %s\n    address: %s\n", acl, knotList(hosts))
	if c.key != nil {
		fmt.Fprintf(&b, "    key: %s\n", c.keyName)
	}
	b.WriteString("    action: notify\n\n")
	qacl := ""
	if len(c.allowQuery) > 0 {
		qacl = remote + "-query"
		fmt.Fprintf(&b, "# Server group %s is private: only these clients may query its zones.\n", c.sg)
		fmt.Fprintf(&b, "mod-queryacl:\n  - id: %s\n    address: %s\n\n", qacl, knotList(c.allowQuery))
	}
	b.WriteString("# The member zones of the catalog.\n")
	fmt.Fprintf(&b, "template:\n  - id: %s\n    master: %s\n    acl: %s\n    storage: %q\n    file: %q\n",
		tmpl, remote, acl, knotDir, "%s.zone")
	if qacl != "" {
		fmt.Fprintf(&b, "    module: mod-queryacl/%s\n", qacl)
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "zone:\n  - domain: %s\n    master: %s\n    acl: %s\n    storage: %q\n    file: %q\n    catalog-role: interpret\n    catalog-template: %s\n",
		c.catalog, remote, acl, knotDir, "%s.zone", tmpl)
	return b.String()
}

func (c *secConf) nsd() string {
	var b strings.Builder
	c.header(&b, "#", "NSD 4.6 (nsd.conf)")
	b.WriteString("# NSD has no catalog zones, so the zones are listed here: when zones are\n")
	again := "dms server config " + c.server
	if c.full {
		again = "dms server config --full " + c.server
	}
	fmt.Fprintf(&b, "# added to or removed from server group %s, run %s\n", c.sg, again)
	if c.full {
		b.WriteString("# again, replace nsd.conf with it and reload (nsd-control reconfig).\n\n")
		fmt.Fprintf(&b, "server:\n\tzonesdir: %q\n\thide-version: yes\n\n", nsdDir)
		b.WriteString("remote-control:\n\tcontrol-enable: yes\n\tcontrol-interface: \"/run/nsd/nsd.ctl\"\n\n")
	} else {
		b.WriteString("# again, replace this part of nsd.conf and reload (nsd-control reconfig).\n")
		b.WriteString("# Add to nsd.conf after the server section.\n\n")
	}
	keyRef := "NOKEY"
	if c.key != nil {
		if c.keyFile != "" {
			fmt.Fprintf(&b, "# key %s, as dms tsig create %s --key-file --key-format nsd wrote it.\ninclude: %q\n\n", c.keyName, c.keyName, c.keyFile)
		} else {
			fmt.Fprintf(&b, "key:\n\tname: %q\n\talgorithm: %s\n\tsecret: %q\n\n", c.keyName, c.alg, c.key.Secret)
		}
		keyRef = c.keyName
	}
	pattern := "dms-" + c.id
	fmt.Fprintf(&b, "pattern:\n\tname: %q\n\tzonefile: %q\n", pattern, nsdDir+"/%s.zone")
	for _, a := range c.addrs {
		fmt.Fprintf(&b, "\tallow-notify: %s %s\n", a, keyRef)
	}
	for _, m := range c.masters {
		fmt.Fprintf(&b, "\trequest-xfr: %s@%d %s\n", m.Addr(), m.Port(), keyRef)
	}
	for _, p := range c.allowQuery {
		fmt.Fprintf(&b, "\tallow-query: %s NOKEY\n", p)
	}
	fmt.Fprintf(&b, "\n# %d zone(s) of server group %s.\n", len(c.members), c.sg)
	for _, z := range c.members {
		fmt.Fprintf(&b, "zone:\n\tname: %q\n\tinclude-pattern: %q\n", z, pattern)
	}
	return b.String()
}
