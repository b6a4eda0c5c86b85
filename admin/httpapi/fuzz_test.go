package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// bodyRoutes are the routes that read a request body: JSON, or zone text
// for PUT .../text. %s is the {zone} path value.
var bodyRoutes = []struct{ method, path string }{
	{"POST", "/api/v1/zones"},
	{"PATCH", "/api/v1/zones/%s"},
	{"PUT", "/api/v1/zones/%s/text"},
	{"PATCH", "/api/v1/zones/%s/rrsets"},
	{"DELETE", "/api/v1/zones/%s/lock"},
	{"POST", "/api/v1/zones/%s/dnssec"},
	{"POST", "/api/v1/references"},
	{"POST", "/api/v1/sectags"},
	{"PUT", "/api/v1/zones/%s/sectags"},
	{"POST", "/api/v1/users"},
}

// FuzzAPIBody: any body on any route that reads one, for any {zone}, as
// the Admin login or a customer, gets an answer that is never a 500 (a
// panic is answered 500 too) and whose errors are {error, message}.
func FuzzAPIBody(f *testing.F) {
	seeds := []struct {
		route uint8
		zone  string
		body  string
	}{
		{0, "", `{"name": "shop.example", "reference": "cust1@ISP", "flags": {"inc_updates": true, "dnssec": false}}`},
		{0, "", `{"cidr": "2001:db8:7::/48", "flags": {"inc_updates": true}}`},
		{1, "example.org", `{"inc_updates": true, "edit_lock": false, "nsec3": true, "use_apex_ns": true, "disabled": false}`},
		{2, "example.org", "$TTL 300\n;!REF:cust1@ISP\n@ SOA ns1.example.net. h.example.net. 1 600 600 604800 600\n@ NS ns1.example.net.\n;!LOCKPTR FORCEREV\nwww A 192.0.2.1\n  AAAA 2001:db8:7::1\n$ORIGIN sub\n* TXT \"x\"\n"},
		{3, "example.org", `{"rrsets": [{"name": "www", "type": "AAAA", "ttl": 300, "changetype": "REPLACE", "records": [{"content": "2001:db8:7::2", "flags": ["TRACKREV"], "ref": "cust1@ISP"}]}, {"name": "old", "type": "A", "changetype": "DELETE"}]}`},
		{4, "example.org", `{"token": "abc"}`},
		{5, "example.org", `{"enable": true, "algorithm": 13, "nsec": false, "iterations": 0, "salt": "", "opt_out": false, "split": true}`},
		{5, "example.org", `{"enable": false, "ds_removed": true}`},
		{6, "", `{"name": "cust2@ISP"}`},
		{7, "", `{"name": "CUST-C"}`},
		{8, "example.org", `{"sectags": ["CUST-A", "CUST-B"]}`},
		{9, "", `{"name": "carol", "sectag": "CUST-B", "role": "customer", "password": "short"}`},
		{128 + 3, "2001:db8:7::5", `{"rrsets": []}`},
		{128 + 0, "", `{"name": "a.example"}`},
	}
	for _, s := range seeds {
		f.Add(s.route, s.zone, []byte(s.body))
	}
	w := newWorld(f)
	w.config("api_rate_client", "0", "api_rate_login", "0")
	root, alice := w.as("root"), w.as("alice")
	if r := root("POST", "/api/v1/zones", map[string]any{"name": "example.org", "reference": "cust1@ISP"}); r.code != 201 {
		f.Fatalf("create example.org: %d %s", r.code, r.body)
	}
	if r := alice("POST", "/api/v1/zones", map[string]any{"name": "alice.example"}); r.code != 201 {
		f.Fatalf("create alice.example: %d %s", r.code, r.body)
	}
	f.Fuzz(func(t *testing.T, route uint8, zone string, body []byte) {
		rt := bodyRoutes[int(route&127)%len(bodyRoutes)]
		r := httptest.NewRequest(rt.method, pathFor(rt.path, zone), bytes.NewReader(body))
		r.RemoteAddr = "192.0.2.99:4000"
		if route&128 == 0 {
			r.SetBasicAuth("root", adminPW)
		} else {
			r.SetBasicAuth("alice", custPW)
		}
		rec := httptest.NewRecorder()
		w.api.ServeHTTP(rec, r)
		if rec.Code == 500 {
			t.Fatalf("%s %s %q: 500 %s", rt.method, r.URL.Path, body, rec.Body)
		}
		if rec.Code >= 400 && rec.Code != 404 && rec.Code != 405 {
			var e errorBody
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" || e.Message == "" {
				t.Fatalf("%s %s: %d with error body %q", rt.method, r.URL.Path, rec.Code, rec.Body)
			}
		}
	})
}

// pathFor puts zone, escaped as one path segment, into a route's path.
func pathFor(pattern, zone string) string {
	return strings.ReplaceAll(pattern, "%s", url.PathEscape(zone))
}
