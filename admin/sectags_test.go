package admin

import (
	"context"
	"errors"
	"slices"
	"testing"

	"dmsdns.org/dms/zonedb"
)

func TestSectags(t *testing.T) {
	s, c := newTestService(t)
	ctx := context.Background()
	configure(t, s, c)
	if _, err := s.SectagCreate(ctx, c, SectagRequest{Name: "Reseller-A"}); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "-x", "a b", "admin"} {
		if _, err := s.SectagCreate(ctx, c, SectagRequest{Name: bad}); err == nil {
			t.Errorf("sectag %q created", bad)
		}
	}
	// A zone carries its creator's sectag; a customer's own.
	cust := Caller{User: "panel", Host: "web1", Sectag: "reseller-a"}
	if _, err := s.ZoneCreate(ctx, cust, ZoneCreateRequest{Name: "cust.example"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ZoneCreate(ctx, c, ZoneCreateRequest{Name: "admin.example"}); err != nil {
		t.Fatal(err)
	}
	for zone, want := range map[string][]string{"cust.example": {"Reseller-A"}, "admin.example": {"Admin"}} {
		got, err := s.ZoneSectagList(ctx, c, ZoneSectagRequest{Name: zone})
		if err != nil || !slices.Equal(got.Sectags, want) {
			t.Errorf("%s: %v, %v; want %v", zone, got, err, want)
		}
	}
	// Only Admin sees or changes sectags.
	if _, err := s.ZoneSectagList(ctx, cust, ZoneSectagRequest{Name: "cust.example"}); !errors.Is(err, ErrForbidden) || AsError(err).Code != CodeForbidden {
		t.Errorf("customer read sectags: %v", err)
	}
	if _, err := s.ZoneSectagChange(ctx, cust, ZoneSectagRequest{Name: "cust.example", Op: "replace"}); !errors.Is(err, ErrForbidden) {
		t.Errorf("customer changed sectags: %v", err)
	}
	if _, err := s.SectagList(ctx, cust, struct{}{}); !errors.Is(err, ErrForbidden) {
		t.Errorf("customer listed sectags: %v", err)
	}
	// Add, delete, replace; an unknown sectag changes nothing.
	if _, err := s.ZoneSectagChange(ctx, c, ZoneSectagRequest{Name: "admin.example", Op: "add", Sectags: []string{"RESELLER-A", "Nope"}}); !errors.Is(err, zonedb.ErrSectagNotFound) {
		t.Errorf("unknown sectag: %v", err)
	}
	got, err := s.ZoneSectagChange(ctx, c, ZoneSectagRequest{Name: "admin.example", Op: "add", Sectags: []string{"RESELLER-A", "reseller-a"}})
	if err != nil || !slices.Equal(got.Sectags, []string{"Admin", "Reseller-A"}) {
		t.Errorf("add: %v, %v", got, err)
	}
	// In use: not deleted; off every zone: deleted.
	if _, err := s.SectagDelete(ctx, c, SectagRequest{Name: "reseller-a"}); !errors.Is(err, zonedb.ErrSectagInUse) {
		t.Errorf("delete in use: %v", err)
	}
	if _, err := s.ZoneSectagChange(ctx, c, ZoneSectagRequest{Name: "admin.example", Op: "delete", Sectags: []string{"Reseller-A"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ZoneSectagChange(ctx, c, ZoneSectagRequest{Name: "cust.example", Op: "replace", Sectags: []string{"Admin"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SectagDelete(ctx, c, SectagRequest{Name: "reseller-a"}); err != nil {
		t.Errorf("delete: %v", err)
	}
	if _, err := s.SectagDelete(ctx, c, SectagRequest{Name: "Admin"}); err == nil {
		t.Error("deleted Admin")
	}
	// A sectag change is no new zone instance.
	info, err := s.ZoneInfo(ctx, c, ZoneRequest{Name: "cust.example"})
	if err != nil || info.ZIs == nil || *info.ZIs != 1 {
		t.Errorf("zone instances after sectag changes: %+v, %v", info, err)
	}
}
