package admin

import (
	"errors"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// TestPrivilegeCheckRace: a commit whose privilege check passed on what
// it read, while another commit changed that, must come out as if the two
// ran one after the other. Each case lands the other commit between the
// first one's request checks and its transaction (the test hook); the
// flag and access checks run inside the transaction, so they see it.
// Before, they ran in a read transaction of their own and the first
// commit undid what only the Admin may do.
func TestPrivilegeCheckRace(t *testing.T) {
	hd := customer("CUST-A")
	hd.Role = RoleHelpdesk
	for _, tc := range []struct {
		name string
		// setup runs first (as Admin); first is the commit under test,
		// other the one that lands between its checks and its commit.
		setup, other []string
		firstBy      Caller
		first        []string
		firstDelete  bool
		// want: first is refused, and the record stays as other left it.
		wantFlags zonedb.Flags
		wantRef   string
		// otherBy makes the other commit (Admin when hasOther is false).
		otherBy  Caller
		hasOther bool
	}{{
		// The help desk deletes a record while Admin locks it: serially,
		// Admin first refuses the delete (only Admin may remove a LOCKPTR
		// record); the delete first, then the lock, leaves it locked.
		name:        "help desk delete vs Admin LOCKPTR",
		setup:       []string{"race AAAA 2001:db8:1::77"},
		other:       []string{";!LOCKPTR\nrace AAAA 2001:db8:1::77"},
		firstBy:     hd,
		first:       []string{"race AAAA 2001:db8:1::77"},
		firstDelete: true,
		wantFlags:   zonedb.FlagLockPTR,
	}, {
		// A customer re-adds a record (taking its REF: off) while the
		// help desk sets REF: on it: the customer may not change a REF:.
		name:     "customer edit vs help desk REF:",
		setup:    []string{"race AAAA 2001:db8:1::78"},
		other:    []string{";!REF:CUST-B\nrace AAAA 2001:db8:1::78"},
		firstBy:  customer("CUST-A"),
		first:    []string{"race 600 AAAA 2001:db8:1::78"},
		wantRef:  "CUST-B",
		otherBy:  hd,
		hasOther: true,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			w := newPTRWorld(t)
			w.add(w.admin, "a.example", tc.setup...)
			otherBy := w.admin
			if tc.hasOther {
				otherBy = tc.otherBy
			}
			var once sync.Once
			w.s.beforeCommit = func() {
				once.Do(func() {
					w.s.beforeCommit = nil
					if _, err := w.s.RecordAdd(w.ctx, otherBy, RecordRequest{Zone: "a.example", Records: tc.other}); err != nil {
						t.Errorf("the other commit: %v", err)
					}
				})
			}
			req := RecordRequest{Zone: "a.example", Records: tc.first}
			var err error
			if tc.firstDelete {
				_, err = w.s.RecordDelete(w.ctx, tc.firstBy, req)
			} else {
				_, err = w.s.RecordAdd(w.ctx, tc.firstBy, req)
			}
			if !errors.Is(err, ErrForbidden) {
				t.Errorf("first commit after the other landed: %v, want refused (ErrForbidden)", err)
			}
			recs := w.records("a.example.", "race.a.example.", dns.TypeAAAA)
			if len(recs) != 1 || recs[0].Flags != tc.wantFlags || recs[0].Ref != tc.wantRef {
				t.Errorf("record after both: %+v, want flags %v ref %q", recs, tc.wantFlags, tc.wantRef)
			}
		})
	}
}

// TestAccessCheckRace: a customer's edit that passed the access check
// is refused when, meanwhile, Admin took the zone out of the customer's
// sectag.
func TestAccessCheckRace(t *testing.T) {
	w := newPTRWorld(t)
	w.s.beforeCommit = func() {
		w.s.beforeCommit = nil
		if _, err := w.s.ZoneSectagChange(w.ctx, w.admin, ZoneSectagRequest{Name: "a.example", Op: "delete", Sectags: []string{"CUST-A"}}); err != nil {
			t.Errorf("sectag delete: %v", err)
		}
	}
	if _, err := w.s.RecordAdd(w.ctx, customer("CUST-A"), RecordRequest{Zone: "a.example", Records: []string{"late A 192.0.2.9"}}); !errors.Is(err, ErrForbidden) {
		t.Errorf("edit of a zone no longer the customer's: %v, want refused", err)
	}
	if recs := w.records("a.example.", "late.a.example.", dns.TypeA); len(recs) != 0 {
		t.Errorf("the refused edit landed: %+v", recs)
	}
}
