package httpapi

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/zonedb"
)

func tlsConfig() *tls.Config { return &tls.Config{MinVersion: tls.VersionTLS12} }

// zoneArg is the {zone} path value: a name in any case, with or without
// its trailing dot, a network (URL-escaped /) or an address.
func zoneArg(r *http.Request) string { return r.PathValue("zone") }

func (a *API) register() {
	const v1 = "/api/v1"
	a.handle("GET "+v1+"/openapi.json", func(c admin.Caller, r *http.Request) (int, any, error) {
		return http.StatusOK, raw{contentType: "application/json", body: a.spec}, nil
	}, true)

	// Zones.
	a.handle("GET "+v1+"/zones", a.listZones, false)
	a.handle("POST "+v1+"/zones", a.createZone, false)
	a.handle("GET "+v1+"/zones/{zone}", a.op("zone.info", nil), false)
	a.handle("PATCH "+v1+"/zones/{zone}", a.patchZone, false)
	a.handle("DELETE "+v1+"/zones/{zone}", a.op("zone.delete", nil), false)
	a.handle("POST "+v1+"/zones/{zone}/undelete", a.op("zone.undelete", nil), false)
	a.handle("GET "+v1+"/zones/{zone}/text", a.getText, false)
	a.handle("PUT "+v1+"/zones/{zone}/text", a.putText, false)
	a.handle("GET "+v1+"/zones/{zone}/rrsets", a.op("zone.rrsets", func(z string) any { return admin.RRsetsRequest{Name: z} }), false)
	a.handle("PATCH "+v1+"/zones/{zone}/rrsets", a.patchRRsets, false)
	a.handle("GET "+v1+"/zones/{zone}/history", a.op("zone.history", nil), false)
	a.handle("GET "+v1+"/zones/{zone}/diff", a.diff, false)
	a.handle("POST "+v1+"/zones/{zone}/lock", a.op("zone.lock", func(z string) any { return admin.ZoneLockRequest{Name: z} }), false)
	a.handle("DELETE "+v1+"/zones/{zone}/lock", a.unlock, false)
	a.handle("POST "+v1+"/zones/{zone}/dnssec", a.dnssec, false)
	a.handle("GET "+v1+"/zones/{zone}/ds", a.ds, false)

	// References.
	a.handle("GET "+v1+"/references", func(c admin.Caller, r *http.Request) (int, any, error) {
		var pats []string
		if q := r.URL.Query().Get("q"); q != "" {
			pats = []string{q}
		}
		res, err := a.call(c, r, "ref.list", admin.RefListRequest{Patterns: pats})
		return http.StatusOK, res, err
	}, false)
	a.handle("POST "+v1+"/references", func(c admin.Caller, r *http.Request) (int, any, error) {
		var req admin.RefRequest
		if err := decode(r, &req); err != nil {
			return 0, nil, err
		}
		res, err := a.call(c, r, "ref.create", req)
		return http.StatusCreated, res, err
	}, false)

	// Admin only (the operations refuse anyone else).
	a.handle("GET "+v1+"/views", a.plain("view.list", struct{}{}), false)
	a.handle("GET "+v1+"/views/{name}", func(c admin.Caller, r *http.Request) (int, any, error) {
		res, err := a.call(c, r, "view.show", admin.ViewRequest{Name: r.PathValue("name")})
		return http.StatusOK, res, err
	}, false)
	a.handle("GET "+v1+"/sectags", a.plain("sectag.list", struct{}{}), false)
	a.handle("POST "+v1+"/sectags", a.withBody("sectag.create", func() any { return &admin.SectagRequest{} }, http.StatusCreated), false)
	a.handle("DELETE "+v1+"/sectags/{name}", func(c admin.Caller, r *http.Request) (int, any, error) {
		res, err := a.call(c, r, "sectag.delete", admin.SectagRequest{Name: r.PathValue("name")})
		return http.StatusOK, res, err
	}, false)
	a.handle("GET "+v1+"/zones/{zone}/sectags", a.op("zone.sectag_list", func(z string) any { return admin.ZoneSectagRequest{Name: z} }), false)
	a.handle("PUT "+v1+"/zones/{zone}/sectags", func(c admin.Caller, r *http.Request) (int, any, error) {
		var body struct {
			Sectags []string `json:"sectags"`
		}
		if err := decode(r, &body); err != nil {
			return 0, nil, err
		}
		res, err := a.call(c, r, "zone.sectag_change", admin.ZoneSectagRequest{Name: zoneArg(r), Op: "replace", Sectags: body.Sectags})
		return http.StatusOK, res, err
	}, false)
	a.handle("GET "+v1+"/users", a.plain("api.user_list", struct{}{}), false)
	a.handle("POST "+v1+"/users", a.withBody("api.user_add", func() any { return &admin.APIUserRequest{} }, http.StatusCreated), false)
	a.handle("DELETE "+v1+"/users/{name}", func(c admin.Caller, r *http.Request) (int, any, error) {
		res, err := a.call(c, r, "api.user_delete", admin.APIUserRequest{Name: r.PathValue("name")})
		return http.StatusOK, res, err
	}, false)
	a.handle("GET "+v1+"/sgs", a.plain("sg.list", struct{}{}), false)
	a.handle("GET "+v1+"/servers", a.plain("server.list", admin.ServerRequest{}), false)
	a.handle("GET "+v1+"/status", a.plain("status", admin.StatusRequest{}), false)
	a.handle("GET "+v1+"/backup", a.backup, false)
}

// op answers with operation name, its request made from the path's zone
// (a ZoneRequest unless req says otherwise).
func (a *API) op(name string, req func(zone string) any) handler {
	if req == nil {
		req = func(zone string) any { return admin.ZoneRequest{Name: zone} }
	}
	return func(c admin.Caller, r *http.Request) (int, any, error) {
		res, err := a.call(c, r, name, req(zoneArg(r)))
		return http.StatusOK, res, err
	}
}

// plain answers with an operation that takes fixed arguments.
func (a *API) plain(name string, args any) handler {
	return func(c admin.Caller, r *http.Request) (int, any, error) {
		res, err := a.call(c, r, name, args)
		return http.StatusOK, res, err
	}
}

// withBody answers with an operation whose arguments are the JSON body.
func (a *API) withBody(name string, mk func() any, status int) handler {
	return func(c admin.Caller, r *http.Request) (int, any, error) {
		req := mk()
		if err := decode(r, req); err != nil {
			return 0, nil, err
		}
		res, err := a.call(c, r, name, req)
		return status, res, err
	}
}

// listZones: ?reference=&q=&page=&per_page=&deleted=.
func (a *API) listZones(c admin.Caller, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	req := admin.ZoneListRequest{Ref: q.Get("reference"), Deleted: q.Get("deleted") == "true"}
	if p := q.Get("q"); p != "" {
		if !strings.ContainsAny(p, "*?[") {
			p = "*" + p + "*"
		}
		req.Patterns = []string{p}
	}
	page, perPage := 1, 100
	var err error
	if s := q.Get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 {
			return 0, nil, &admin.Error{Code: admin.CodeBadInput, Message: "page must be a number from 1"}
		}
	}
	if s := q.Get("per_page"); s != "" {
		if perPage, err = strconv.Atoi(s); err != nil || perPage < 1 || perPage > 1000 {
			return 0, nil, &admin.Error{Code: admin.CodeBadInput, Message: "per_page must be a number from 1 to 1000"}
		}
	}
	var zones []admin.ZoneInfo
	if err := a.do(r.Context(), c, "zone.list", req, &zones); err != nil {
		return 0, nil, err
	}
	total := len(zones)
	lo := min((page-1)*perPage, total)
	hi := min(lo+perPage, total)
	type item struct {
		Name      string   `json:"name"`
		Reference string   `json:"reference,omitempty"`
		Serial    uint32   `json:"serial"`
		State     string   `json:"state"`
		Flags     []string `json:"flags"`
	}
	items := []item{}
	for _, z := range zones[lo:hi] {
		fl := []string{}
		for _, f := range []struct {
			on   bool
			name string
		}{{z.IncUpdates, "inc_updates"}, {z.EditLock, "edit_lock"}, {z.DNSSEC, "dnssec"}, {z.UseApexNS, "use_apex_ns"}} {
			if f.on {
				fl = append(fl, f.name)
			}
		}
		items = append(items, item{Name: z.Name, Reference: z.Reference, Serial: z.Serial, State: z.State, Flags: fl})
	}
	return http.StatusOK, map[string]any{"zones": items, "page": page, "per_page": perPage, "total": total}, nil
}

// createZone: {"name"} or {"cidr"}, reference, sg, flags.
func (a *API) createZone(c admin.Caller, r *http.Request) (int, any, error) {
	var body struct {
		Name      string `json:"name"`
		CIDR      string `json:"cidr"`
		Reference string `json:"reference"`
		SG        string `json:"sg"`
		Flags     struct {
			IncUpdates *bool `json:"inc_updates"`
			EditLock   *bool `json:"edit_lock"`
			DNSSEC     *bool `json:"dnssec"`
			NSEC3      *bool `json:"nsec3"`
			UseApexNS  *bool `json:"use_apex_ns"`
		} `json:"flags"`
	}
	if err := decode(r, &body); err != nil {
		return 0, nil, err
	}
	name := body.Name
	if body.CIDR != "" {
		if name != "" {
			return 0, nil, &admin.Error{Code: admin.CodeBadInput, Message: "give name or cidr, not both"}
		}
		name = body.CIDR
	}
	res, err := a.call(c, r, "zone.create", admin.ZoneCreateRequest{Name: name, Ref: body.Reference, SG: body.SG,
		IncUpdates: body.Flags.IncUpdates, EditLock: body.Flags.EditLock, DNSSEC: body.Flags.DNSSEC, NSEC3: body.Flags.NSEC3, UseApexNS: body.Flags.UseApexNS})
	return http.StatusCreated, res, err
}

func (a *API) patchZone(c admin.Caller, r *http.Request) (int, any, error) {
	var body struct {
		IncUpdates *bool `json:"inc_updates"`
		EditLock   *bool `json:"edit_lock"`
		NSEC3      *bool `json:"nsec3"`
		UseApexNS  *bool `json:"use_apex_ns"`
		Disabled   *bool `json:"disabled"`
	}
	if err := decode(r, &body); err != nil {
		return 0, nil, err
	}
	res, err := a.call(c, r, "zone.set", admin.ZoneSetRequest{Name: zoneArg(r), IncUpdates: body.IncUpdates, EditLock: body.EditLock,
		NSEC3: body.NSEC3, UseApexNS: body.UseApexNS, Disabled: body.Disabled})
	return http.StatusOK, res, err
}

// getText answers the zone file, its serial as the ETag.
func (a *API) getText(c admin.Caller, r *http.Request) (int, any, error) {
	var zt admin.ZoneText
	if err := a.do(r.Context(), c, "zone.show", admin.ZoneRequest{Name: zoneArg(r)}, &zt); err != nil {
		return 0, nil, err
	}
	h := http.Header{}
	h.Set("ETag", strconv.Quote(strconv.FormatUint(uint64(zt.Serial), 10)))
	return http.StatusOK, raw{contentType: "text/plain; charset=utf-8", body: []byte(zt.Text), header: h}, nil
}

// putText replaces the zone's content with the body; If-Match: SERIAL
// refuses the change when the zone has moved on (409), X-Lock-Token
// carries the edit lock of a zone with edit_lock.
func (a *API) putText(c admin.Caller, r *http.Request) (int, any, error) {
	text, err := io.ReadAll(r.Body)
	if err != nil {
		return 0, nil, err
	}
	var info admin.ZoneInfo
	if err := a.do(r.Context(), c, "zone.info", admin.ZoneRequest{Name: zoneArg(r)}, &info); err != nil {
		return 0, nil, err
	}
	req := admin.ZoneReplaceRequest{Name: info.Name, File: info.Name, Text: string(text), LockToken: r.Header.Get("X-Lock-Token")}
	if m := strings.Trim(r.Header.Get("If-Match"), `" `); m != "" {
		want, err := strconv.ParseUint(m, 10, 32)
		if err != nil {
			return 0, nil, &admin.Error{Code: admin.CodeBadInput, Message: "If-Match takes the zone's serial, as the ETag of GET .../text gave it"}
		}
		if uint32(want) != info.Serial {
			return 0, nil, &admin.Error{Code: admin.CodeStale, Message: "the zone changed since serial " + m + " (now " + strconv.FormatUint(uint64(info.Serial), 10) + "): read it again and redo the change"}
		}
		// The instance read goes with the commit: a change landing between
		// this check and the commit is refused too.
		req.ExpectZI = info.ZI
	}
	res, err := a.call(c, r, "zone.replace", req)
	return http.StatusOK, res, err
}

func (a *API) patchRRsets(c admin.Caller, r *http.Request) (int, any, error) {
	var body struct {
		RRsets []admin.RRsetPatch `json:"rrsets"`
	}
	if err := decode(r, &body); err != nil {
		return 0, nil, err
	}
	res, err := a.call(c, r, "zone.rrsets_patch", admin.RRsetsRequest{Name: zoneArg(r), RRsets: body.RRsets})
	return http.StatusOK, res, err
}

func (a *API) diff(c admin.Caller, r *http.Request) (int, any, error) {
	q := r.URL.Query()
	from, err1 := strconv.ParseUint(q.Get("from"), 10, 64)
	to, err2 := strconv.ParseUint(q.Get("to"), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, nil, &admin.Error{Code: admin.CodeBadInput, Message: "give from and to: zone instance ids (see .../history)"}
	}
	res, err := a.call(c, r, "zone.diff", admin.ZoneDiffRequest{Name: zoneArg(r), From: from, To: to})
	return http.StatusOK, res, err
}

func (a *API) unlock(c admin.Caller, r *http.Request) (int, any, error) {
	tok := r.Header.Get("X-Lock-Token")
	if tok == "" {
		var body struct {
			Token string `json:"token"`
		}
		if r.ContentLength != 0 {
			if err := decode(r, &body); err != nil {
				return 0, nil, err
			}
		}
		tok = body.Token
	}
	res, err := a.call(c, r, "zone.unlock", admin.ZoneLockRequest{Name: zoneArg(r), Token: tok})
	return http.StatusOK, res, err
}

// dnssec: {"enable": true, ...DNSSEC parameters} or {"enable": false,
// "ds_removed": true}.
func (a *API) dnssec(c admin.Caller, r *http.Request) (int, any, error) {
	var body struct {
		Enable *bool `json:"enable"`
		admin.DNSSECRequest
	}
	if err := decode(r, &body); err != nil {
		return 0, nil, err
	}
	if body.Enable == nil {
		return 0, nil, &admin.Error{Code: admin.CodeBadInput, Message: `give "enable": true or false`}
	}
	req := body.DNSSECRequest
	req.Name = zoneArg(r)
	op := "dnssec.disable"
	if *body.Enable {
		op = "dnssec.enable"
	}
	res, err := a.call(c, r, op, req)
	return http.StatusOK, res, err
}

// ds answers the DS records of the zone's key-signing keys for the
// parent: ?digest=2|4.
func (a *API) ds(c admin.Caller, r *http.Request) (int, any, error) {
	req := admin.DNSSECRequest{Name: zoneArg(r)}
	if d := r.URL.Query().Get("digest"); d != "" {
		n, err := strconv.ParseUint(d, 10, 8)
		if err != nil {
			return 0, nil, &admin.Error{Code: admin.CodeBadInput, Message: "digest: 2 (SHA-256) or 4 (SHA-384)"}
		}
		req.Digest = uint8(n)
	}
	var info admin.DNSSECInfo
	if err := a.do(r.Context(), c, "dnssec.keys", req, &info); err != nil {
		return 0, nil, err
	}
	ds := []string{}
	for _, k := range info.Keys {
		ds = append(ds, k.DS...)
	}
	return http.StatusOK, map[string]any{"zone": info.Zone, "signed": info.Signed, "ds": ds}, nil
}

// backup streams a copy of the store (Admin only: the service refuses
// others before a byte is written).
func (a *API) backup(c admin.Caller, r *http.Request) (int, any, error) {
	return http.StatusOK, stream(func(w http.ResponseWriter) int {
		started := false
		_, err := a.svc.Backup(r.Context(), c, w, func(info zonedb.BackupInfo) error {
			h := w.Header()
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Length", strconv.FormatInt(info.Bytes, 10))
			h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="dms-%s.db"`, info.Time.Format("20060102T150405Z")))
			h.Set("X-Dms-Zones", strconv.Itoa(info.Zones))
			h.Set("X-Dms-Generation", strconv.FormatUint(info.Generation, 10))
			w.WriteHeader(http.StatusOK)
			started = true
			return nil
		})
		switch {
		case err != nil && !started:
			return a.writeOpError(w, r, err)
		case err != nil:
			// The client sees fewer bytes than Content-Length.
			a.log.Warn("backup stream cut", "by", c.ChangeBy(), "err", err)
		}
		return http.StatusOK
	}), nil
}
