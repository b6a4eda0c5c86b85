package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"

	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// Operations on TSIG keys, server groups and servers, and on the SGs of a
// zone (DESIGN.md, "Transfers and NOTIFY").

// ---- TSIG keys ----

// TSIGRequest names a key; create and import also give its algorithm and
// (import) its secret.
type TSIGRequest struct {
	Name      string `json:"name"`
	Algorithm string `json:"algorithm,omitempty"`
	Secret    string `json:"secret,omitempty"`
}

// TSIGInfo is a key as shown. Secret and the configuration snippets are
// only filled by create, import and show, never by list.
type TSIGInfo struct {
	Name      string    `json:"name"`
	Algorithm string    `json:"algorithm"`
	Secret    string    `json:"secret,omitempty"`
	Servers   []string  `json:"servers,omitempty"`
	CTime     time.Time `json:"ctime,omitzero"`
	BIND      string    `json:"bind,omitempty"`
	Knot      string    `json:"knot,omitempty"`
	NSD       string    `json:"nsd,omitempty"`
	// Update is the key's dynamic update policy, one grant per line
	// ("ZONE NAME TYPES [sectag=TAG]").
	Update []string `json:"update,omitempty"`
}

// tsigSecretBytes is the size of generated secrets for each algorithm: the
// hash's output size (RFC 8945 section 6 recommends at least that).
var tsigSecretBytes = map[string]int{"hmac-sha1": 20, "hmac-sha224": 28, "hmac-sha256": 32, "hmac-sha384": 48, "hmac-sha512": 64}

func tsigInfo(k *zonedb.TSIGKey, withSecret bool, servers []zonedb.Server) *TSIGInfo {
	alg := zonedb.ShortAlgorithm(k.Algorithm)
	name := zonedb.KeyName(k.Name)
	info := &TSIGInfo{Name: name, Algorithm: alg, CTime: k.CTime}
	for _, r := range k.Update {
		info.Update = append(info.Update, FormatUpdateRule(r))
	}
	for _, s := range servers {
		if s.TSIGKey == k.Name {
			info.Servers = append(info.Servers, s.Name)
		}
	}
	if withSecret {
		info.Secret = k.Secret
		info.BIND = fmt.Sprintf("key \"%s\" {\n\talgorithm %s;\n\tsecret \"%s\";\n};\n", name, alg, k.Secret)
		info.Knot = fmt.Sprintf("key:\n  - id: %s\n    algorithm: %s\n    secret: %s\n", name, alg, k.Secret)
		info.NSD = fmt.Sprintf("key:\n\tname: \"%s\"\n\talgorithm: %s\n\tsecret: \"%s\"\n", name, alg, k.Secret)
	}
	return info
}

// TSIGCreate generates a key with a random secret.
func (s *Service) TSIGCreate(ctx context.Context, c Caller, req TSIGRequest) (*TSIGInfo, error) {
	alg := zonedb.ShortAlgorithm(cmpOr(req.Algorithm, "hmac-sha256"))
	n, ok := tsigSecretBytes[alg]
	if !ok {
		return nil, usagef("TSIG algorithm %q: use hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1", req.Algorithm)
	}
	if req.Secret != "" {
		return nil, usagef("tsig create makes its own secret; use dms tsig import to store a given one")
	}
	sec := make([]byte, n)
	if _, err := rand.Read(sec); err != nil {
		return nil, err
	}
	return s.TSIGImport(ctx, c, TSIGRequest{Name: req.Name, Algorithm: alg, Secret: base64.StdEncoding.EncodeToString(sec)})
}

// TSIGImport stores a key made elsewhere (e.g. by tsig-keygen).
func (s *Service) TSIGImport(ctx context.Context, c Caller, req TSIGRequest) (*TSIGInfo, error) {
	if req.Secret == "" {
		return nil, usagef("give the key's secret (base64), as tsig-keygen or keymgr print it")
	}
	k := &zonedb.TSIGKey{Name: req.Name, Algorithm: cmpOr(req.Algorithm, "hmac-sha256"), Secret: req.Secret}
	if err := s.change(c, func(t *zonedb.Txn) error { return t.PutTSIGKey(k) }); err != nil {
		return nil, err
	}
	return tsigInfo(k, true, nil), nil
}

// TSIGList lists keys without their secrets.
func (s *Service) TSIGList(ctx context.Context, c Caller, _ struct{}) ([]TSIGInfo, error) {
	out := []TSIGInfo{}
	err := s.read(c, func(v *zonedb.View) error {
		keys, err := v.TSIGKeys()
		if err != nil {
			return err
		}
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		for i := range keys {
			out = append(out, *tsigInfo(&keys[i], false, servers))
		}
		return nil
	})
	return out, err
}

// TSIGShow shows one key with its secret and configuration snippets.
func (s *Service) TSIGShow(ctx context.Context, c Caller, req TSIGRequest) (*TSIGInfo, error) {
	var out *TSIGInfo
	err := s.read(c, func(v *zonedb.View) error {
		k, err := v.TSIGKey(req.Name)
		if err != nil {
			return err
		}
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		out = tsigInfo(k, true, servers)
		return nil
	})
	return out, err
}

// TSIGDelete removes a key no server uses.
func (s *Service) TSIGDelete(ctx context.Context, c Caller, req TSIGRequest) (*TSIGInfo, error) {
	if err := s.change(c, func(t *zonedb.Txn) error { return t.DeleteTSIGKey(req.Name) }); err != nil {
		return nil, err
	}
	return &TSIGInfo{Name: req.Name}, nil
}

// ---- server groups ----

// SGRequest creates or changes a server group; for set, nil fields stay.
type SGRequest struct {
	Name          string    `json:"name"`
	ApexNS        *[]string `json:"apex_ns,omitempty"`
	SOAMname      *string   `json:"soa_mname,omitempty"`
	MasterAddress *[]string `json:"master_address,omitempty"`
	AllowQuery    *[]string `json:"allow_query,omitempty"`
	CatalogZone   *string   `json:"catalog_zone,omitempty"`
}

// SGInfo is a server group with its zone and server counts.
type SGInfo struct {
	zonedb.SG
	Zones    int                 `json:"zones"`
	AltZones int                 `json:"alt_zones"`
	Servers  []string            `json:"servers"`
	Commits  []zonedb.ZoneCommit `json:"commits,omitempty"`
}

func (req *SGRequest) apply(sg *zonedb.SG) {
	if req.ApexNS != nil {
		sg.ApexNS = *req.ApexNS
	}
	if req.SOAMname != nil {
		sg.SOAMname = *req.SOAMname
	}
	if req.MasterAddress != nil {
		sg.MasterAddress = nil
		for _, a := range *req.MasterAddress {
			sg.MasterAddress = append(sg.MasterAddress, strings.Fields(strings.ReplaceAll(a, ",", " "))...)
		}
	}
	if req.AllowQuery != nil {
		sg.AllowQuery = nil
		for _, a := range *req.AllowQuery {
			sg.AllowQuery = append(sg.AllowQuery, strings.Fields(strings.ReplaceAll(a, ",", " "))...)
		}
	}
	if req.CatalogZone != nil {
		sg.CatalogZone = *req.CatalogZone
	}
}

func splitNames(in []string) []string {
	var out []string
	for _, a := range in {
		out = append(out, strings.Fields(strings.ReplaceAll(a, ",", " "))...)
	}
	return out
}

// SGCreate makes a server group and its catalog zone.
func (s *Service) SGCreate(ctx context.Context, c Caller, req SGRequest) (*SGInfo, error) {
	var sg zonedb.SG
	sg.Name = req.Name
	sg.View = c.View // the SG carries the zones of the caller's view
	if req.ApexNS != nil {
		ns := splitNames(*req.ApexNS)
		req.ApexNS = &ns
	}
	req.apply(&sg)
	res, err := s.db.CreateSG(sg, c.ChangeBy())
	if err != nil {
		return nil, err
	}
	info, err := s.SGShow(ctx, c, SGRequest{Name: req.Name})
	if err != nil {
		return nil, err
	}
	info.Commits = res
	return info, nil
}

// SGSet changes a server group. New apex NS are written into its zones
// that use them; a new catalog zone name replaces the catalog.
func (s *Service) SGSet(ctx context.Context, c Caller, req SGRequest) (*SGInfo, error) {
	if req.ApexNS != nil {
		ns := splitNames(*req.ApexNS)
		req.ApexNS = &ns
	}
	res, err := s.db.UpdateSG(req.Name, c.ChangeBy(), func(sg *zonedb.SG) error {
		req.apply(sg)
		return nil
	})
	if err != nil {
		return nil, err
	}
	info, err := s.SGShow(ctx, c, SGRequest{Name: req.Name})
	if err != nil {
		return nil, err
	}
	info.Commits = res
	return info, nil
}

func sgInfo(v *zonedb.View, sg *zonedb.SG, servers []zonedb.Server) (*SGInfo, error) {
	p, a, err := v.ZoneCount(sg.Name)
	if err != nil {
		return nil, err
	}
	info := &SGInfo{SG: *sg, Zones: p, AltZones: a, Servers: []string{}}
	for _, s := range servers {
		if strings.EqualFold(s.SG, sg.Name) {
			info.Servers = append(info.Servers, s.Name)
		}
	}
	return info, nil
}

// SGShow shows one server group.
func (s *Service) SGShow(ctx context.Context, c Caller, req SGRequest) (*SGInfo, error) {
	var out *SGInfo
	err := s.read(c, func(v *zonedb.View) error {
		sg, err := v.SG(req.Name)
		if err != nil {
			return err
		}
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		out, err = sgInfo(v, sg, servers)
		return err
	})
	return out, err
}

// SGList lists the server groups.
func (s *Service) SGList(ctx context.Context, c Caller, _ struct{}) ([]SGInfo, error) {
	out := []SGInfo{}
	err := s.read(c, func(v *zonedb.View) error {
		sgs, err := v.SGs()
		if err != nil {
			return err
		}
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		for i := range sgs {
			info, err := sgInfo(v, &sgs[i], servers)
			if err != nil {
				return err
			}
			out = append(out, *info)
		}
		return nil
	})
	return out, err
}

// SGRenameRequest renames a server group.
type SGRenameRequest struct {
	Name    string `json:"name"`
	NewName string `json:"new_name"`
}

// SGRename renames a server group; its zones, servers and catalog follow.
func (s *Service) SGRename(ctx context.Context, c Caller, req SGRenameRequest) (*SGInfo, error) {
	if err := adminOnly(c, "rename server groups"); err != nil {
		return nil, err
	}
	if req.NewName == "" {
		return nil, usagef("give the new name")
	}
	if err := s.change(c, func(t *zonedb.Txn) error { return t.RenameSG(req.Name, req.NewName) }); err != nil {
		return nil, err
	}
	return s.SGShow(ctx, c, SGRequest{Name: req.NewName})
}

// SGDelete removes an empty server group and its catalog zone.
func (s *Service) SGDelete(ctx context.Context, c Caller, req SGRequest) (*SGInfo, error) {
	if _, err := s.db.Change(c.ChangeBy(), func(t *zonedb.Txn) error { return t.DeleteSG(req.Name) }); err != nil {
		return nil, err
	}
	return &SGInfo{SG: zonedb.SG{Name: req.Name}}, nil
}

// ---- servers ----

// ServerRequest names a server and, for create and the changing
// operations, what to set.
type ServerRequest struct {
	Name    string  `json:"name"`
	NewName string  `json:"new_name,omitempty"`
	Address string  `json:"address,omitempty"`
	SG      string  `json:"sg,omitempty"`
	Type    string  `json:"type,omitempty"`
	TSIGKey *string `json:"tsig_key,omitempty"`
	// Full: server.config prints a whole configuration file.
	Full bool `json:"full,omitempty"`
	// KeyFile: server.config includes the server's key from this file on
	// the secondary instead of defining it.
	KeyFile string `json:"key_file,omitempty"`
}

// ServerInfo is a server as stored.
type ServerInfo struct {
	zonedb.Server
	// Zones is counted for one server shown, not in lists (absent there
	// rather than 0).
	Zones *int `json:"zones,omitempty"`
	// Status is the server's state from polling (dms serve only).
	Status *xfr.ServerStatus `json:"status,omitempty"`
}

// serverInfo is a server for output: its key spelled as everywhere else
// (KeyName).
func serverInfo(i ServerInfo) *ServerInfo {
	i.TSIGKey = zonedb.KeyName(i.TSIGKey)
	return &i
}

// ServerCreate adds a secondary server to an SG.
func (s *Service) ServerCreate(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	srv := zonedb.Server{Name: req.Name, Address: req.Address, SG: req.SG, Type: req.Type}
	if req.TSIGKey != nil {
		srv.TSIGKey = *req.TSIGKey
	}
	if srv.Type == "" {
		if err := s.read(c, func(v *zonedb.View) error { srv.Type = s.config(v)["default_stype"]; return nil }); err != nil {
			return nil, err
		}
	}
	if srv.SG == "" {
		return nil, usagef("give the server's group with --sg (see dms sg ls)")
	}
	if _, err := s.db.Change(c.ChangeBy(), func(t *zonedb.Txn) error { return t.CreateServer(&srv) }); err != nil {
		return nil, err
	}
	return serverInfo(ServerInfo{Server: srv}), nil
}

// ServerShow shows one server.
func (s *Service) ServerShow(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	var out *ServerInfo
	err := s.read(c, func(v *zonedb.View) error {
		srv, err := v.Server(req.Name)
		if err != nil {
			return err
		}
		p, a, err := v.ZoneCount(srv.SG)
		n := p + a
		out = serverInfo(ServerInfo{Server: *srv, Zones: &n, Status: s.serverStatus(srv)})
		return err
	})
	return out, err
}

// ServerList lists the servers, optionally of one SG.
func (s *Service) ServerList(ctx context.Context, c Caller, req ServerRequest) ([]ServerInfo, error) {
	out := []ServerInfo{}
	err := s.read(c, func(v *zonedb.View) error {
		servers, err := v.Servers()
		if err != nil {
			return err
		}
		if req.SG != "" {
			if _, err := v.SG(req.SG); err != nil {
				return err
			}
		}
		for _, srv := range servers {
			if req.SG == "" || strings.EqualFold(srv.SG, req.SG) {
				out = append(out, *serverInfo(ServerInfo{Server: srv, Status: s.serverStatus(&srv)}))
			}
		}
		return nil
	})
	return out, err
}

func (s *Service) updateServer(c Caller, name string, fn func(srv *zonedb.Server) error) (*ServerInfo, error) {
	var out *zonedb.Server
	_, err := s.db.Change(c.ChangeBy(), func(t *zonedb.Txn) error {
		var err error
		out, err = t.UpdateServer(name, fn)
		return err
	})
	if err != nil {
		return nil, err
	}
	return serverInfo(ServerInfo{Server: *out}), nil
}

// ServerEnable makes dms notify and poll a server again.
func (s *Service) ServerEnable(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	return s.updateServer(c, req.Name, func(srv *zonedb.Server) error {
		if !srv.Disabled {
			return usagef("server %s is already enabled", srv.Name)
		}
		srv.Disabled = false
		return nil
	})
}

// ServerDisable stops NOTIFY and polling of a server (it may still
// transfer its zones).
func (s *Service) ServerDisable(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	return s.updateServer(c, req.Name, func(srv *zonedb.Server) error {
		if srv.Disabled {
			return usagef("server %s is already disabled", srv.Name)
		}
		srv.Disabled = true
		return nil
	})
}

// ServerRename renames a server.
func (s *Service) ServerRename(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	if req.NewName == "" {
		return nil, usagef("give the new name")
	}
	return s.updateServer(c, req.Name, func(srv *zonedb.Server) error { srv.Name = req.NewName; return nil })
}

// ServerMove moves a server to another SG.
func (s *Service) ServerMove(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	if req.SG == "" {
		return nil, usagef("give the server group to move to")
	}
	return s.updateServer(c, req.Name, func(srv *zonedb.Server) error { srv.SG = req.SG; return nil })
}

// ServerSetAddress changes a server's address.
func (s *Service) ServerSetAddress(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	if req.Address == "" {
		return nil, usagef("give the new address")
	}
	return s.updateServer(c, req.Name, func(srv *zonedb.Server) error { srv.Address = req.Address; return nil })
}

// ServerSet changes a server's type or TSIG key ("" removes the key).
func (s *Service) ServerSet(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	if req.Type == "" && req.TSIGKey == nil {
		return nil, usagef("give --type or --tsig")
	}
	return s.updateServer(c, req.Name, func(srv *zonedb.Server) error {
		if req.Type != "" {
			srv.Type = req.Type
		}
		if req.TSIGKey != nil {
			srv.TSIGKey = *req.TSIGKey
		}
		return nil
	})
}

// ServerDelete removes a server.
func (s *Service) ServerDelete(ctx context.Context, c Caller, req ServerRequest) (*ServerInfo, error) {
	if _, err := s.db.Change(c.ChangeBy(), func(t *zonedb.Txn) error { return t.DeleteServer(req.Name) }); err != nil {
		return nil, err
	}
	return &ServerInfo{Server: zonedb.Server{Name: req.Name}}, nil
}

// ---- a zone's server groups ----

// ZoneSGRequest sets a zone's primary SG, or acts on its alternate SG
// (Action: set, swap, clear).
type ZoneSGRequest struct {
	Name   string `json:"name"`
	SG     string `json:"sg,omitempty"`
	Action string `json:"action,omitempty"`
}

// ZoneSetSG moves a zone to another primary SG (its apex NS follow when it
// uses the SG's).
func (s *Service) ZoneSetSG(ctx context.Context, c Caller, req ZoneSGRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	if req.SG == "" {
		return nil, usagef("give the server group")
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		if strings.EqualFold(z.SG, req.SG) {
			return usagef("zone %s is already in server group %s", name, z.SG)
		}
		if strings.EqualFold(z.AltSG, req.SG) {
			return usagef("%s is the zone's alternate server group: use dms zone alt-sg swap %s", req.SG, name)
		}
		z.SG = req.SG
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ZoneAltSG sets, swaps or clears a zone's alternate SG (the old
// dupe_zone_alt_sg, swap_zone_sg and delete_zone_alt_sg).
func (s *Service) ZoneAltSG(ctx context.Context, c Caller, req ZoneSGRequest) (*CommitResult, error) {
	name, err := s.zoneAccess(c, req.Name)
	if err != nil {
		return nil, err
	}
	if !slices.Contains([]string{"set", "swap", "clear"}, req.Action) {
		return nil, usagef("alt-sg takes set SG, swap or clear, not %q", req.Action)
	}
	if req.Action == "set" && req.SG == "" {
		return nil, usagef("give the alternate server group")
	}
	res, err := s.commit(ctx, c, zonedb.ZoneChange{Zone: name, Update: func(z *zonedb.Zone) error {
		switch req.Action {
		case "set":
			z.AltSG = req.SG
		case "swap":
			if z.AltSG == "" {
				return usagef("zone %s has no alternate server group to swap with; set one with dms zone alt-sg set %s SG", name, name)
			}
			z.SG, z.AltSG = z.AltSG, z.SG
		case "clear":
			if z.AltSG == "" {
				return usagef("zone %s has no alternate server group", name)
			}
			z.AltSG = ""
		}
		return nil
	}})
	if err != nil {
		return nil, err
	}
	return &CommitResult{Commits: res}, nil
}

// ServerConfigResult is the configuration a secondary needs.
type ServerConfigResult struct {
	Server string `json:"server"`
	Type   string `json:"type"`
	Config string `json:"config"`
}

// ServerConfig prints the configuration for a server's program (BIND,
// Knot or NSD) to slave every zone of its SG from dms.
func (s *Service) ServerConfig(ctx context.Context, c Caller, req ServerRequest) (*ServerConfigResult, error) {
	var out *ServerConfigResult
	err := s.read(c, func(v *zonedb.View) error {
		srv, err := v.Server(req.Name)
		if err != nil {
			return err
		}
		sg, err := v.SG(srv.SG)
		if err != nil {
			return err
		}
		var key *zonedb.TSIGKey
		if srv.TSIGKey != "" {
			if key, err = v.TSIGKey(srv.TSIGKey); err != nil {
				return err
			}
		}
		var members []string
		err = v.Zones(func(z *zonedb.Zone) bool {
			if z.CatalogOf == "" && !z.Deleted && !z.Disabled && (strings.EqualFold(z.SG, sg.Name) || strings.EqualFold(z.AltSG, sg.Name)) {
				members = append(members, z.Name)
			}
			return true
		})
		if err != nil {
			return err
		}
		slices.Sort(members)
		text, err := SecondaryConfig(*srv, *sg, key, members, SecConfOptions{Full: req.Full, KeyFile: req.KeyFile})
		if err != nil {
			return err
		}
		note, err := viewNote(v, srv, sg, key, commentFor(srv.Type))
		if err != nil {
			return err
		}
		out = &ServerConfigResult{Server: srv.Name, Type: srv.Type, Config: note + text}
		return nil
	})
	return out, err
}

// commentFor is how a configuration of a server type starts a comment:
// BIND's "//"; Knot and NSD know only "#".
func commentFor(typ string) string {
	if typ == "bind9" {
		return "//"
	}
	return "#"
}

// viewNote is what a secondary's configuration says of views (split
// horizon): nothing without views; else the view dms answers the server
// from, by its address and key as for any client, and a warning when
// that is not its SG's view (its transfers would get another view's
// zones, or be refused). Its lines are comments of the server's
// configuration, which starts with them (cm: "//" or "#").
func viewNote(v *zonedb.View, srv *zonedb.Server, sg *zonedb.SG, key *zonedb.TSIGKey, cm string) (string, error) {
	views, err := v.ViewTable()
	if err != nil || views.Trivial() {
		return "", err
	}
	want := cmpOr(sg.View, zonedb.DefaultView)
	keyName, by := "", "its address "+srv.AddrPort().Addr().String()
	if key != nil {
		keyName, by = key.Name, "its address "+srv.AddrPort().Addr().String()+" and key "+zonedb.KeyName(key.Name)
	}
	_, got, ok := views.Match(srv.AddrPort().Addr(), keyName)
	switch {
	case !ok:
		return fmt.Sprintf("%[1]s WARNING: no view of dms matches this server (%[2]s): its requests are refused.\n"+
			"%[1]s Make view %[3]s match its key: dms view set %[3]s --match key:NAME (and the other rules).\n", cm, by, want), nil
	case !strings.EqualFold(got, want):
		return fmt.Sprintf("%[1]s WARNING: dms answers this server (%[2]s) from view %[3]s, but its server group %[4]s\n"+
			"%[1]s carries the zones of view %[5]s: give the server a TSIG key that view %[5]s matches\n"+
			"%[1]s (dms view set %[5]s --match key:NAME ...; dms server set %[6]s --tsig NAME).\n", cm, by, got, sg.Name, want, srv.Name), nil
	}
	return fmt.Sprintf("%s dms answers this server (%s) from view %s.\n", cm, by, got), nil
}
