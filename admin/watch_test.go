package admin

import (
	"context"
	"strings"
	"testing"

	"dmsdns.org/dms/zonedb"
)

// TestWatchConfig: the watcher sees the configuration at once and again
// right after each commit, with no poll and no delay; reads do not call
// it.
func TestWatchConfig(t *testing.T) {
	s, c := newTestService(t)
	calls, apex := 0, ""
	WatchConfig(s.db, func(v *zonedb.View) {
		calls++
		apex = strings.Join(EffectiveConfig(v.Config()).Fields("apex_ns"), " ")
	})
	if calls != 1 || apex != "" {
		t.Fatalf("at the start: %d calls, apex_ns %q", calls, apex)
	}
	configure(t, s, c, [2]string{"apex_ns", "ns1.example.net."})
	if calls != 2 || apex != "ns1.example.net." {
		t.Fatalf("after config set: %d calls, apex_ns %q", calls, apex)
	}
	if _, err := s.ZoneList(context.Background(), c, ZoneListRequest{}); err != nil {
		t.Fatal(err)
	}
	if calls != 2 {
		t.Errorf("a read called the watcher (%d calls)", calls)
	}
}
