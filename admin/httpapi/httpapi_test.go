package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	yaml "go.yaml.in/yaml/v3"

	"dmsdns.org/dms/admin"
	"dmsdns.org/dms/api"
	"dmsdns.org/dms/xfr"
	"dmsdns.org/dms/zonedb"
)

// world: a store with an admin login, two customers of different sectags
// and a help desk login, and an API in front of it.
type world struct {
	t   testing.TB
	srv *httptest.Server
	api *API
	svc *admin.Service
	reg *prometheus.Registry
}

const (
	adminPW = "admin-password-1"
	custPW  = "customer-password-1"
)

func newWorld(t testing.TB) *world {
	t.Helper()
	db, err := zonedb.Open(filepath.Join(t.TempDir(), "dms.db"), zonedb.Options{Create: true, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	svc := admin.New(db, nil)
	ctx := t.Context()
	root := admin.Caller{User: "setup", Sectag: admin.SectagAdmin}
	for _, kv := range [][2]string{{"soa_mname", "ns1.example.net."}, {"soa_rname", "hostmaster.example.net."}, {"apex_ns", "ns1.example.net."}, {"api_max_body", "4096"}} {
		if _, err := svc.ConfigSet(ctx, root, admin.ConfigSetRequest{Key: kv[0], Value: kv[1]}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tag := range []string{"CUST-A", "CUST-B"} {
		if _, err := svc.SectagCreate(ctx, root, admin.SectagRequest{Name: tag}); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []admin.APIUserRequest{
		{Name: "root", Sectag: "Admin", Password: adminPW},
		{Name: "alice", Sectag: "CUST-A", Password: custPW},
		{Name: "bob", Sectag: "CUST-B", Password: custPW},
		{Name: "desk", Sectag: "CUST-A", Role: "helpdesk", Password: custPW},
	} {
		if _, err := svc.APIUserAdd(ctx, root, u); err != nil {
			t.Fatal(err)
		}
	}
	// As in dms serve: the live state dms status reads.
	svc.SetLive(&admin.Live{Started: time.Now(), Notifier: xfr.NewNotifier(db, xfr.NotifyOptions{}, nil), Monitor: xfr.NewMonitor(db, xfr.MonitorOptions{}, nil)})
	reg := prometheus.NewRegistry()
	a, err := New(svc, Options{MaxBody: 4096, Registerer: reg, LoginFailures: 3, LoginWindow: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	t.Cleanup(srv.Close)
	return &world{t: t, srv: srv, api: a, svc: svc, reg: reg}
}

// clock is a time tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeClock makes the API's time a clock the test moves.
func (w *world) fakeClock() *clock {
	c := &clock{t: time.Now()}
	w.api.now = c.now
	return c
}

type resp struct {
	code int
	body []byte
	hdr  http.Header
}

func (r resp) json(v any) error { return json.Unmarshal(r.body, v) }

func (r resp) errCode() string {
	var e errorBody
	_ = json.Unmarshal(r.body, &e)
	return e.Error
}

// req sends a request as user (password pw; "" user: no login).
func (w *world) req(user, pw, method, path string, body any, hdr ...string) resp {
	w.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, w.srv.URL+path, rd)
	if err != nil {
		w.t.Fatal(err)
	}
	if user != "" {
		r.SetBasicAuth(user, pw)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(r)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, b, res.Header}
}

func (w *world) as(user string) func(method, path string, body any, hdr ...string) resp {
	pw := custPW
	if user == "root" {
		pw = adminPW
	}
	return func(method, path string, body any, hdr ...string) resp {
		w.t.Helper()
		return w.req(user, pw, method, path, body, hdr...)
	}
}

func expect(t *testing.T, what string, r resp, code int) {
	t.Helper()
	if r.code != code {
		t.Errorf("%s: %d %s, want %d", what, r.code, r.body, code)
	}
	if r.code >= 400 {
		var e errorBody
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" || e.Message == "" {
			t.Errorf("%s: error body %q is not {error, message}", what, r.body)
		}
		if bytes.Contains(r.body, []byte("goroutine ")) || bytes.Contains(r.body, []byte(".go:")) {
			t.Errorf("%s: a stack trace in the answer: %s", what, r.body)
		}
	}
}

// TestEndpoints drives every route as the Admin login and a customer.
func TestEndpoints(t *testing.T) {
	w := newWorld(t)
	root, alice := w.as("root"), w.as("alice")
	const v1 = "/api/v1"

	// A customer may not choose a reference (it is the provider's account,
	// and auto-PTR privileges follow it); the help desk of the same sectag
	// creates the zone with one.
	expect(t, "create with a reference as a customer", alice("POST", v1+"/zones", map[string]any{"name": "Shop.Example", "reference": "alice@ISP"}), 403)
	expect(t, "create with a server group as a customer", alice("POST", v1+"/zones", map[string]any{"name": "Shop.Example", "sg": "x"}), 403)
	expect(t, "create by name", w.as("desk")("POST", v1+"/zones", map[string]any{"name": "Shop.Example", "reference": "alice@ISP", "flags": map[string]bool{"inc_updates": true}}), 201)
	expect(t, "create reverse by cidr", root("POST", v1+"/zones", map[string]any{"cidr": "2001:db8:7::/48", "flags": map[string]bool{"inc_updates": true}}), 201)
	expect(t, "create both", alice("POST", v1+"/zones", map[string]any{"name": "x.example", "cidr": "192.0.2.0/24"}), 400)
	expect(t, "create existing", alice("POST", v1+"/zones", map[string]any{"name": "shop.example."}), 409)
	// A reverse zone by network (escaped) and by address.
	for _, n := range []string{"2001:db8:7::%2F48", "2001:db8:7::5"} {
		var zi admin.ZoneInfo
		r := root("GET", v1+"/zones/"+n, nil)
		if expect(t, "reverse zone by "+n, r, 200); r.json(&zi) != nil || zi.Name != "7.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa." {
			t.Errorf("reverse zone by %s: %s", n, r.body)
		}
	}
	if r := root("GET", v1+"/zones/2001:db8:7::5/text", nil); r.code != 200 || !bytes.Contains(r.body, []byte("7.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.")) {
		t.Errorf("text by address: %d", r.code)
	}

	var list struct {
		Zones []struct {
			Name      string   `json:"name"`
			Reference string   `json:"reference"`
			Flags     []string `json:"flags"`
		} `json:"zones"`
		Total int `json:"total"`
	}
	r := alice("GET", v1+"/zones?reference=alice@ISP&q=shop&page=1&per_page=10", nil)
	expect(t, "list", r, 200)
	if r.json(&list) != nil || list.Total != 1 || list.Zones[0].Name != "shop.example." || !slices.Contains(list.Zones[0].Flags, "inc_updates") {
		t.Errorf("list: %s", r.body)
	}
	expect(t, "list bad page", alice("GET", v1+"/zones?page=0", nil), 400)

	// A zone by any spelling of its name.
	for _, n := range []string{"shop.example", "shop.example.", "SHOP.Example."} {
		expect(t, "info "+n, alice("GET", v1+"/zones/"+n, nil), 200)
	}
	expect(t, "patch", alice("PATCH", v1+"/zones/shop.example", map[string]any{"edit_lock": false, "use_apex_ns": true}), 200)

	// Text: read with its serial as ETag, replace with If-Match.
	r = alice("GET", v1+"/zones/shop.example/text", nil)
	expect(t, "text", r, 200)
	etag := r.hdr.Get("ETag")
	text := string(r.body) + "www 300 IN AAAA 2001:db8:7::80\n"
	r = alice("PUT", v1+"/zones/shop.example/text", text, "If-Match", etag)
	expect(t, "put text", r, 200)
	// Its auto-PTR result comes back with the commit.
	var cr admin.CommitResult
	if r.json(&cr) != nil || len(cr.Commits) == 0 || len(cr.Commits[0].Reverse) != 1 || cr.Commits[0].Reverse[0].Action != "refused" {
		t.Errorf("auto-PTR result of a customer's commit into a reverse zone it has no reference on: %s", r.body)
	}
	expect(t, "put stale", alice("PUT", v1+"/zones/shop.example/text", text, "If-Match", etag), 409)
	expect(t, "put bad text", alice("PUT", v1+"/zones/shop.example/text", "www IN A 192.0.2.300\n"), 400)
	expect(t, "put failing checks", alice("PUT", v1+"/zones/shop.example/text", "$ORIGIN shop.example.\nwww 300 IN A 192.0.2.1\n"), 422)

	// RRsets.
	r = alice("PATCH", v1+"/zones/shop.example/rrsets", map[string]any{"rrsets": []map[string]any{
		{"name": "mail", "type": "A", "ttl": 300, "changetype": "REPLACE", "records": []map[string]any{{"content": "192.0.2.25"}, {"content": "192.0.2.26"}}},
		{"name": "www", "type": "AAAA", "changetype": "DELETE"},
	}})
	expect(t, "patch rrsets", r, 200)
	var sets []admin.RRset
	r = alice("GET", v1+"/zones/shop.example/rrsets", nil)
	expect(t, "rrsets", r, 200)
	if r.json(&sets) != nil || !slices.ContainsFunc(sets, func(s admin.RRset) bool { return s.Name == "mail.shop.example." && len(s.Records) == 2 }) ||
		slices.ContainsFunc(sets, func(s admin.RRset) bool { return s.Type == "AAAA" }) {
		t.Errorf("rrsets after the patch: %s", r.body)
	}
	expect(t, "patch rrsets bad", alice("PATCH", v1+"/zones/shop.example/rrsets", map[string]any{"rrsets": []map[string]any{{"name": "x", "type": "A", "changetype": "UPSERT"}}}), 400)

	// History and diff.
	var zis []zonedb.ZI
	r = alice("GET", v1+"/zones/shop.example/history", nil)
	expect(t, "history", r, 200)
	if r.json(&zis) != nil || len(zis) < 3 {
		t.Fatalf("history: %s", r.body)
	}
	r = alice("GET", fmt.Sprintf("%s/zones/shop.example/diff?from=%d&to=%d", v1, zis[len(zis)-1].ID, zis[0].ID), nil)
	var diff admin.ZoneDiffResult
	if expect(t, "diff", r, 200); r.json(&diff) != nil || !slices.ContainsFunc(diff.Added, func(l string) bool { return strings.Contains(l, "192.0.2.25") }) {
		t.Errorf("diff from the first instance to the last lacks the mail records: %s", r.body)
	}
	expect(t, "diff bad", alice("GET", v1+"/zones/shop.example/diff?from=x", nil), 400)

	// Lock: a zone with edit_lock; the holder's PUT carries the token.
	expect(t, "set edit_lock", alice("PATCH", v1+"/zones/shop.example", map[string]any{"edit_lock": true}), 200)
	var lock admin.ZoneLock
	r = alice("POST", v1+"/zones/shop.example/lock", nil)
	expect(t, "lock", r, 200)
	if r.json(&lock) != nil || lock.Token == "" {
		t.Fatalf("lock: %s", r.body)
	}
	expect(t, "lock held", w.as("desk")("POST", v1+"/zones/shop.example/lock", nil), 409)
	r = alice("GET", v1+"/zones/shop.example/text", nil)
	expect(t, "put with lock", alice("PUT", v1+"/zones/shop.example/text", string(r.body)+"new 300 IN TXT locked\n", "X-Lock-Token", lock.Token), 200)
	r = alice("POST", v1+"/zones/shop.example/lock", nil)
	_ = r.json(&lock)
	expect(t, "unlock", alice("DELETE", v1+"/zones/shop.example/lock", nil, "X-Lock-Token", lock.Token), 200)

	// DNSSEC.
	expect(t, "dnssec on", alice("POST", v1+"/zones/shop.example/dnssec", map[string]any{"enable": true}), 200)
	r = alice("GET", v1+"/zones/shop.example/ds?digest=2", nil)
	expect(t, "ds", r, 200)
	var ds struct {
		DS []string `json:"ds"`
	}
	if r.json(&ds) != nil || len(ds.DS) != 1 || !strings.Contains(ds.DS[0], " 13 2 ") {
		t.Errorf("ds: %s", r.body)
	}
	expect(t, "dnssec no enable", alice("POST", v1+"/zones/shop.example/dnssec", map[string]any{}), 400)
	expect(t, "dnssec off without the parent's word", alice("POST", v1+"/zones/shop.example/dnssec", map[string]any{"enable": false}), 400)

	// Delete and undelete.
	expect(t, "delete", alice("DELETE", v1+"/zones/shop.example", nil), 200)
	var zi admin.ZoneInfo
	if r := alice("GET", v1+"/zones/shop.example", nil); r.json(&zi) != nil || zi.State != "DELETED" {
		t.Errorf("after delete: %s", r.body)
	}
	expect(t, "undelete", alice("POST", v1+"/zones/shop.example/undelete", nil), 200)
	if r := alice("GET", v1+"/zones/shop.example", nil); r.json(&zi) != nil || zi.State == "DELETED" {
		t.Errorf("after undelete: %s", r.body)
	}

	// References: the help desk may create, a customer sees its own.
	expect(t, "ref create by customer", alice("POST", v1+"/references", map[string]any{"name": "new@ISP"}), 403)
	expect(t, "ref create by help desk", w.as("desk")("POST", v1+"/references", map[string]any{"name": "desk@ISP"}), 201)
	var refs []admin.RefInfo
	r = alice("GET", v1+"/references", nil)
	if expect(t, "refs", r, 200); r.json(&refs) != nil || len(refs) != 1 || refs[0].Name != "alice@ISP" {
		t.Errorf("customer's references: %s", r.body)
	}

	// Admin routes.
	expect(t, "sectags", root("GET", v1+"/sectags", nil), 200)
	expect(t, "sectag create", root("POST", v1+"/sectags", map[string]any{"name": "CUST-C"}), 201)
	expect(t, "sectag delete", root("DELETE", v1+"/sectags/CUST-C", nil), 200)
	expect(t, "zone sectags", root("GET", v1+"/zones/shop.example/sectags", nil), 200)
	expect(t, "zone sectags put", root("PUT", v1+"/zones/shop.example/sectags", map[string]any{"sectags": []string{"CUST-A", "CUST-B"}}), 200)
	if r := root("GET", v1+"/zones/shop.example/sectags", nil); !bytes.Contains(r.body, []byte(`"CUST-B"`)) {
		t.Errorf("sectags after the PUT: %s", r.body)
	}
	expect(t, "bob reaches it now", w.as("bob")("GET", v1+"/zones/shop.example", nil), 200)
	expect(t, "users", root("GET", v1+"/users", nil), 200)
	expect(t, "user add", root("POST", v1+"/users", map[string]any{"name": "carol", "sectag": "CUST-B", "password": "carol-password-1"}), 201)
	expect(t, "user add short password", root("POST", v1+"/users", map[string]any{"name": "dave", "sectag": "CUST-B", "password": "short"}), 400)
	expect(t, "carol logs in", w.req("carol", "carol-password-1", "GET", v1+"/zones", nil), 200)
	expect(t, "user delete", root("DELETE", v1+"/users/carol", nil), 200)
	expect(t, "carol is gone", w.req("carol", "carol-password-1", "GET", v1+"/zones", nil), 401)
	expect(t, "sgs", root("GET", v1+"/sgs", nil), 200)
	expect(t, "servers", root("GET", v1+"/servers", nil), 200)
	expect(t, "status", root("GET", v1+"/status", nil), 200)
	expect(t, "openapi, no login", w.req("", "", "GET", v1+"/openapi.json", nil), 200)

	// Metrics count requests by route and code.
	if n := testutil.ToFloat64(w.api.requests.WithLabelValues("GET /api/v1/zones/{zone}", "200")); n < 3 {
		t.Errorf("dms_api_requests_total for zone info: %v", n)
	}
	if n := testutil.CollectAndCount(w.reg, "dms_api_request_duration_seconds"); n == 0 {
		t.Error("no dms_api_request_duration_seconds")
	}
}

// TestSectagRules: a customer cannot see, read, edit or delete another
// customer's zone, cannot set sectags, cannot reach admin routes; the
// Admin login can; a customer never sees sectags.
func TestSectagRules(t *testing.T) {
	w := newWorld(t)
	root, alice, bob := w.as("root"), w.as("alice"), w.as("bob")
	const v1 = "/api/v1"
	expect(t, "alice creates", alice("POST", v1+"/zones", map[string]any{"name": "a.example"}), 201)
	expect(t, "bob creates", bob("POST", v1+"/zones", map[string]any{"name": "b.example"}), 201)
	expect(t, "admin reverse zone", root("POST", v1+"/zones", map[string]any{"cidr": "192.0.2.0/24"}), 201)

	var list struct {
		Zones []struct{ Name string } `json:"zones"`
	}
	r := alice("GET", v1+"/zones", nil)
	if expect(t, "alice lists", r, 200); r.json(&list) != nil || len(list.Zones) != 1 || list.Zones[0].Name != "a.example." {
		t.Errorf("alice sees %s", r.body)
	}
	r = root("GET", v1+"/zones", nil)
	if r.json(&list) != nil || len(list.Zones) != 3 {
		t.Errorf("admin sees %s", r.body)
	}
	// Every zone route on bob's zone is forbidden to alice, by any name.
	for _, c := range []struct{ method, path string }{
		{"GET", "/zones/b.example"}, {"GET", "/zones/B.EXAMPLE."}, {"PATCH", "/zones/b.example"}, {"DELETE", "/zones/b.example"},
		{"POST", "/zones/b.example/undelete"}, {"GET", "/zones/b.example/text"}, {"PUT", "/zones/b.example/text"},
		{"GET", "/zones/b.example/rrsets"}, {"PATCH", "/zones/b.example/rrsets"}, {"GET", "/zones/b.example/history"},
		{"GET", "/zones/b.example/diff?from=1&to=2"}, {"POST", "/zones/b.example/lock"}, {"DELETE", "/zones/b.example/lock"},
		{"POST", "/zones/b.example/dnssec"}, {"GET", "/zones/b.example/ds"},
		// The admin's reverse zone, by network and by address.
		{"GET", "/zones/192.0.2.0%2F24"}, {"GET", "/zones/192.0.2.77/text"},
	} {
		var body any
		switch c.method {
		case "PATCH":
			body = map[string]any{}
			if strings.HasSuffix(c.path, "rrsets") {
				body = map[string]any{"rrsets": []map[string]any{{"name": "x", "type": "TXT", "changetype": "DELETE"}}}
			}
		case "PUT":
			body = "x 300 IN TXT y\n"
		case "POST":
			if strings.HasSuffix(c.path, "dnssec") {
				body = map[string]any{"enable": true}
			}
		}
		expect(t, "alice "+c.method+" "+c.path, alice(c.method, v1+c.path, body), 403)
	}
	// Sectags and admin routes.
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"GET", "/zones/a.example/sectags", nil}, {"PUT", "/zones/a.example/sectags", map[string]any{"sectags": []string{"CUST-A", "CUST-B"}}},
		{"GET", "/sectags", nil}, {"POST", "/sectags", map[string]any{"name": "X"}}, {"DELETE", "/sectags/X", nil},
		{"GET", "/users", nil}, {"POST", "/users", map[string]any{"name": "evil", "sectag": "Admin", "password": "evil-password-1"}},
		{"DELETE", "/users/bob", nil}, {"GET", "/sgs", nil}, {"GET", "/servers", nil}, {"GET", "/status", nil},
	} {
		expect(t, "alice "+c.method+" "+c.path, alice(c.method, v1+c.path, c.body), 403)
		expect(t, "admin "+c.method+" "+c.path, root(c.method, v1+c.path, c.body), map[bool]int{true: 201, false: 200}[c.method == "POST"])
	}
	// A customer never sees sectags: a.example now carries CUST-A and
	// CUST-B, and neither the list nor the zone's info or history shows a
	// sectags field or the other sectag (change_by shows only who changed
	// it: alice/CUST-A and the Admin).
	for _, p := range []string{"/zones", "/zones/a.example", "/zones/a.example/history"} {
		r := alice("GET", v1+p, nil)
		expect(t, "alice GET "+p, r, 200)
		if bytes.Contains(r.body, []byte(`"sectags"`)) || bytes.Contains(r.body, []byte("CUST-B")) {
			t.Errorf("%s shows sectags: %s", p, r.body)
		}
	}
	// No zone inside or above another customer's (bob, deleted above, back).
	expect(t, "bob again", root("POST", v1+"/users", map[string]any{"name": "bob", "sectag": "CUST-B", "password": custPW}), 201)
	expect(t, "a.example alice's alone", root("PUT", v1+"/zones/a.example/sectags", map[string]any{"sectags": []string{"CUST-A"}}), 200)
	expect(t, "bob inside alice's zone", bob("POST", v1+"/zones", map[string]any{"name": "www.a.example"}), 403)
	expect(t, "bob above alice's zone", bob("POST", v1+"/zones", map[string]any{"name": "example"}), 403)
	expect(t, "alice below her own", alice("POST", v1+"/zones", map[string]any{"name": "sub.a.example"}), 201)
	// A customer cannot set a reference through the SOA's REF: either; the
	// help desk can.
	r = alice("GET", v1+"/zones/a.example/text", nil)
	withRef := strings.Replace(string(r.body), "\n@ ", "\n;!REF:R1\n@ ", 1)
	expect(t, "alice sets a reference", alice("PUT", v1+"/zones/a.example/text", withRef), 403)
	expect(t, "the help desk sets it", w.as("desk")("PUT", v1+"/zones/a.example/text", withRef), 200)
	// Auto-PTR into the admin's reverse zone of the same reference: the
	// customer learns what auto-PTR did, not the other zone's commit.
	expect(t, "reverse zone", root("POST", v1+"/zones", map[string]any{"cidr": "2001:db8:9::/48", "reference": "R1", "flags": map[string]bool{"inc_updates": true}}), 201)
	r = alice("PATCH", v1+"/zones/a.example/rrsets", map[string]any{"rrsets": []map[string]any{{"name": "www", "type": "AAAA", "ttl": 300, "changetype": "REPLACE", "records": []map[string]any{{"content": "2001:db8:9::1"}}}}})
	var cr admin.CommitResult
	if expect(t, "AAAA with auto-PTR", r, 200); r.json(&cr) != nil || len(cr.Commits) != 1 || len(cr.Commits[0].Reverse) != 1 || cr.Commits[0].Reverse[0].Action != "created" {
		t.Errorf("customer's commit result: %s", r.body)
	}
	// A LOCKPTR record (the admin's) cannot be removed by the customer.
	expect(t, "admin locks", root("PATCH", v1+"/zones/a.example/rrsets", map[string]any{"rrsets": []map[string]any{{"name": "mx", "type": "A", "ttl": 300, "changetype": "REPLACE", "records": []map[string]any{{"content": "192.0.2.9", "flags": []string{"LOCKPTR"}}}}}}), 200)
	for what, set := range map[string]map[string]any{
		"delete":  {"name": "mx", "type": "A", "changetype": "DELETE"},
		"replace": {"name": "mx", "type": "A", "ttl": 300, "changetype": "REPLACE", "records": []map[string]any{{"content": "192.0.2.10"}}},
	} {
		expect(t, "alice "+what+"s a LOCKPTR record", alice("PATCH", v1+"/zones/a.example/rrsets", map[string]any{"rrsets": []map[string]any{set}}), 403)
	}

	// change_by is login@client/sectag.
	r = alice("GET", v1+"/zones/a.example/history", nil)
	if !bytes.Contains(r.body, []byte("alice@127.0.0.1/CUST-A")) {
		t.Errorf("change_by: %s", r.body)
	}
}

// TestBadInput: what clients get wrong gets a clear error and changes
// nothing.
func TestBadInput(t *testing.T) {
	w := newWorld(t)
	alice := w.as("alice")
	const v1 = "/api/v1"
	expect(t, "create", alice("POST", v1+"/zones", map[string]any{"name": "a.example"}), 201)
	expect(t, "invalid JSON", alice("POST", v1+"/zones", "{name: a"), 400)
	expect(t, "unknown field", alice("POST", v1+"/zones", map[string]any{"nmae": "x.example"}), 400)
	expect(t, "oversized body", alice("PUT", v1+"/zones/a.example/text", strings.Repeat("x 300 IN TXT y\n", 1000)), 413)
	expect(t, "path traversal", alice("GET", v1+"/zones/..%2F..%2Fetc%2Fpasswd", nil), 400)
	expect(t, "bad zone name", alice("GET", v1+"/zones/a%20b.example", nil), 400)
	expect(t, "missing zone", alice("GET", v1+"/zones/nope.example", nil), 404)
	expect(t, "no login", w.req("", "", "GET", v1+"/zones", nil), 401)
	if r := w.req("", "", "GET", v1+"/zones", nil); r.hdr.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	// Failed logins are counted and rate-limited per client (3 here),
	// each waiting out the back-off of the one before.
	clock := w.fakeClock()
	for i := range 3 {
		expect(t, fmt.Sprintf("bad password %d", i), w.req("alice", "wrong-password", "GET", v1+"/zones", nil), 401)
		clock.add(10 * time.Second)
	}
	expect(t, "rate limited", w.req("alice", custPW, "GET", v1+"/zones", nil), 429)
	if n := testutil.ToFloat64(w.api.badLogin); n != 3 {
		t.Errorf("dms_api_login_failures_total %v", n)
	}
	w.api.mu.Lock()
	clear(w.api.failures)
	w.api.mu.Unlock()

	// Concurrent replaces of the same zone from the same read: one wins,
	// the others get 409.
	r := alice("GET", v1+"/zones/a.example/text", nil)
	etag, text := r.hdr.Get("ETag"), string(r.body)
	var wg sync.WaitGroup
	codes := make([]int, 5)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i] = alice("PUT", v1+"/zones/a.example/text", fmt.Sprintf("%sc%d 300 IN TXT x\n", text, i), "If-Match", etag).code
		}()
	}
	wg.Wait()
	sort.Ints(codes)
	if codes[0] != 200 || codes[1] != 409 || codes[4] != 409 {
		t.Errorf("concurrent replaces: %v, want one 200 and 409s", codes)
	}
}

// TestSlowClient: a client that does not finish its request headers is
// cut off.
func TestSlowClient(t *testing.T) {
	w := newWorld(t)
	old := ReadHeaderTimeout
	ReadHeaderTimeout = 200 * time.Millisecond
	defer func() { ReadHeaderTimeout = old }()
	addr, err := Serve(t.Context(), "127.0.0.1:0", "", "", false, w.api, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = c.Write([]byte("GET /api/v1/zones HTTP/1.1\r\nHost: x\r\n")) // and nothing more
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	_, err = io.ReadAll(c)
	if err != nil || time.Since(start) > 3*time.Second {
		t.Errorf("slow client not cut off: %v after %v", err, time.Since(start))
	}
	// Plain HTTP only on loopback unless --insecure; cert and key together.
	if _, err := Serve(t.Context(), "0.0.0.0:0", "", "", false, w.api, nil); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("plain HTTP on a public address: %v", err)
	}
	if _, err := Serve(t.Context(), "127.0.0.1:0", "cert.pem", "", false, w.api, nil); err == nil {
		t.Error("a certificate without its key accepted")
	}
}

// TestOpenAPI: the description parses and names exactly the routes the
// server registers.
func TestOpenAPI(t *testing.T) {
	w := newWorld(t)
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(api.YAML(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var described []string
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			described = append(described, strings.ToUpper(m)+" "+p)
		}
	}
	sort.Strings(described)
	registered := slices.Clone(w.api.Routes())
	sort.Strings(registered)
	if !slices.Equal(described, registered) {
		t.Errorf("described routes\n%s\nregistered routes\n%s", strings.Join(described, "\n"), strings.Join(registered, "\n"))
	}
	// Served as JSON.
	r := w.req("", "", "GET", "/api/v1/openapi.json", nil)
	var j map[string]any
	if err := json.Unmarshal(r.body, &j); err != nil || j["openapi"] == nil {
		t.Errorf("openapi.json: %v", err)
	}
}

// TestLoginLimitSources: an IPv6 client's addresses count as its /64; a
// login guessed at from many sources is stopped too.
func TestLoginLimitSources(t *testing.T) {
	a := &API{opts: Options{LoginFailures: 2, LoginWindow: time.Minute}, failures: map[string][]time.Time{}}
	blocked := func(client, user string) bool { return a.loginWait(netip.MustParseAddr(client), user) > 0 }
	a.failed(netip.MustParseAddr("2001:db8:1:2::1"), "alice")
	a.failed(netip.MustParseAddr("2001:db8:1:2::ffff"), "bob")
	if !blocked("2001:db8:1:2:abcd::9", "carol") {
		t.Error("another address of the same /64 not blocked")
	}
	if blocked("2001:db8:1:3::1", "carol") {
		t.Error("another /64 blocked")
	}
	for i := range 8 {
		a.failed(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}), "dave")
	}
	if !blocked("198.51.100.1", "Dave") {
		t.Error("a login guessed at from 8 addresses not blocked")
	}
}

// TestLogins: passwords are stored as bcrypt hashes; passwd replaces the
// password at once (the login cache forgets the old one); --insecure lets
// plain HTTP listen beyond loopback.
func TestLogins(t *testing.T) {
	w := newWorld(t)
	root := admin.Caller{User: "setup", Sectag: admin.SectagAdmin}
	var u *zonedb.APIUser
	_ = w.svc.DB().View(func(v *zonedb.View) error { u, _ = v.APIUser("alice"); return nil })
	if u == nil || !strings.HasPrefix(u.Hash, "$2") || strings.Contains(u.Hash, custPW) {
		t.Fatalf("stored login: %+v", u)
	}
	expect(t, "old password", w.req("alice", custPW, "GET", "/api/v1/zones", nil), 200)
	if _, err := w.svc.APIUserPasswd(t.Context(), root, admin.APIUserRequest{Name: "alice", Password: "a-new-password-2"}); err != nil {
		t.Fatal(err)
	}
	clock := w.fakeClock()
	expect(t, "old password after passwd", w.req("alice", custPW, "GET", "/api/v1/zones", nil), 401)
	clock.add(time.Second) // the back-off after a failed login
	expect(t, "new password", w.req("alice", "a-new-password-2", "GET", "/api/v1/zones", nil), 200)
	if _, err := w.svc.APIUserPasswd(t.Context(), root, admin.APIUserRequest{Name: "alice", Password: "short"}); !errors.Is(err, admin.ErrUsage) {
		t.Errorf("short password: %v", err)
	}
	addr, err := Serve(t.Context(), "0.0.0.0:0", "", "", true, w.api, nil)
	if err != nil {
		t.Fatalf("--insecure on 0.0.0.0: %v", err)
	}
	_, port, _ := net.SplitHostPort(addr)
	if r, err := http.Get("http://127.0.0.1:" + port + "/api/v1/openapi.json"); err != nil || r.StatusCode != 200 {
		t.Errorf("insecure listener: %v %v", r, err)
	}
}

// TestPutTextRefusesInclude: $INCLUDE in a zone text PUT is refused: a
// panel's text must not read files on the server. Nothing changes.
func TestPutTextRefusesInclude(t *testing.T) {
	w := newWorld(t)
	const v1 = "/api/v1"
	for _, user := range []string{"alice", "root"} {
		as := w.as(user)
		zone := user + ".example"
		expect(t, "create", as("POST", v1+"/zones", map[string]any{"name": zone}), 201)
		shown := string(as("GET", v1+"/zones/"+zone+"/text", nil).body)
		for _, inc := range []string{"$INCLUDE /etc/passwd\n", "$INCLUDE other.zone\n", "$INCLUDE other.zone example.net.\n"} {
			r := as("PUT", v1+"/zones/"+zone+"/text", shown+inc)
			expect(t, user+" "+inc, r, 400)
			if !bytes.Contains(r.body, []byte("$INCLUDE is not allowed")) {
				t.Errorf("%s %q: %s", user, inc, r.body)
			}
		}
		if r := as("GET", v1+"/zones/"+zone+"/text", nil); string(r.body) != shown {
			t.Errorf("refused PUTs changed the text:\n%s", r.body)
		}
	}
}

// TestZoneTextCommentsOverHTTP: the zone text of the API keeps ";|" and
// ";#" comments: a PUT with comments, then a GET, has them in place, and
// the apex line once.
func TestZoneTextCommentsOverHTTP(t *testing.T) {
	w := newWorld(t)
	alice := w.as("alice")
	const v1 = "/api/v1"
	expect(t, "create", alice("POST", v1+"/zones", map[string]any{"name": "c.example"}), 201)
	r := alice("GET", v1+"/zones/c.example/text", nil)
	text := string(r.body) + ";| Web\nwww 300 IN A 192.0.2.1 ;# the server\n"
	expect(t, "put commented text", alice("PUT", v1+"/zones/c.example/text", text), 200)
	shown := string(alice("GET", v1+"/zones/c.example/text", nil).body)
	if !strings.Contains(shown, "\n;| Web\nwww ") || !strings.Contains(shown, "192.0.2.1 ;# the server\n") ||
		strings.Count(shown, ";| Apex resource records") != 1 {
		t.Errorf("text after a PUT with comments:\n%s", shown)
	}
	// The text shown, put back: nothing changes.
	expect(t, "put the text shown", alice("PUT", v1+"/zones/c.example/text", shown), 200)
	if again := string(alice("GET", v1+"/zones/c.example/text", nil).body); again != shown {
		t.Errorf("text after putting it back:\n%s", again)
	}
}

// TestViewsOverHTTP: ?view= names the view of the zones a request is
// about; the views are listed for Admin only.
func TestViewsOverHTTP(t *testing.T) {
	const v1 = "/api/v1"
	w := newWorld(t)
	root := w.as("root")
	m := []string{"10.0.0.0/8"}
	if _, err := w.svc.ViewCreate(t.Context(), admin.Caller{User: "setup", Sectag: admin.SectagAdmin}, admin.ViewRequest{Name: "internal", Match: &m}); err != nil {
		t.Fatal(err)
	}
	expect(t, "create in the default view", root("POST", v1+"/zones", map[string]any{"name": "split.example"}), 201)
	expect(t, "create in internal", root("POST", v1+"/zones?view=internal", map[string]any{"name": "split.example"}), 201)
	expect(t, "create in a view that is not", root("POST", v1+"/zones?view=nosuch", map[string]any{"name": "other.example"}), 404)
	patch := func(view, addr string) {
		t.Helper()
		expect(t, "patch in "+view, root("PATCH", v1+"/zones/split.example/rrsets?view="+view, map[string]any{"rrsets": []map[string]any{
			{"name": "www", "type": "A", "ttl": 300, "changetype": "REPLACE", "records": []map[string]any{{"content": addr}}}}}), 200)
	}
	patch("", "192.0.2.80")
	patch("internal", "10.0.0.80")
	for view, want := range map[string]string{"": "192.0.2.80", "internal": "10.0.0.80"} {
		r := root("GET", v1+"/zones/split.example/text?view="+view, nil)
		if r.code != 200 || !bytes.Contains(r.body, []byte(want)) || bytes.Contains(r.body, []byte(map[string]string{"": "10.0.0.80", "internal": "192.0.2.80"}[view])) {
			t.Errorf("text of view %q: %d %s", view, r.code, r.body)
		}
		var zi admin.ZoneInfo
		if r := root("GET", v1+"/zones/split.example?view="+view, nil); r.json(&zi) != nil || zi.View != view {
			t.Errorf("info of view %q: %s", view, r.body)
		}
	}
	var views []admin.ViewInfo
	r := root("GET", v1+"/views", nil)
	if expect(t, "views", r, 200); r.json(&views) != nil || len(views) != 2 || views[0].Name != "internal" || views[0].Zones != 1 || views[1].Name != zonedb.DefaultView {
		t.Errorf("views: %s", r.body)
	}
	expect(t, "one view", root("GET", v1+"/views/internal", nil), 200)
	expect(t, "views as a customer", w.as("alice")("GET", v1+"/views", nil), 403)
}
