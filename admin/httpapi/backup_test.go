package httpapi

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"dmsdns.org/dms/zonedb"
)

// TestBackupRoute: an Admin login downloads the whole store, which
// verifies; the help desk and customers are refused before a byte.
func TestBackupRoute(t *testing.T) {
	w := newWorld(t)
	expect(t, "create zone", w.as("root")("POST", "/api/v1/zones", map[string]any{"name": "example.org"}), 201)
	for _, u := range []string{"alice", "desk"} {
		r := w.as(u)("GET", "/api/v1/backup", nil)
		expect(t, u+" backup", r, 403)
		if len(r.body) > 1000 {
			t.Errorf("%s got %d bytes", u, len(r.body))
		}
	}
	r := w.as("root")("GET", "/api/v1/backup", nil)
	expect(t, "admin backup", r, 200)
	if n, _ := strconv.Atoi(r.hdr.Get("Content-Length")); n != len(r.body) || n < 4096 {
		t.Fatalf("Content-Length %q, body %d bytes", r.hdr.Get("Content-Length"), len(r.body))
	}
	if r.hdr.Get("Content-Type") != "application/octet-stream" || r.hdr.Get("X-Dms-Zones") != "1" {
		t.Errorf("headers %v", r.hdr)
	}
	p := filepath.Join(t.TempDir(), "b.db")
	if err := os.WriteFile(p, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := zonedb.VerifyFile(p, 0)
	if err != nil || !rep.OK() || rep.Zones != 1 {
		t.Fatalf("downloaded backup: %+v %v", rep, err)
	}
	// The backup is recorded (dms_backup_last_success_timestamp_seconds)
	// before its last byte goes out.
	_ = w.svc.DB().View(func(v *zonedb.View) error {
		if v.LastBackup().IsZero() {
			t.Error("last backup time not recorded")
		}
		return nil
	})
}
