// Package admin holds the operations on the store that admins, control
// panels and the control socket perform. The CLI (admin/cli), the control
// socket and the HTTP API all call these same functions, through the one
// operation table in ops.go, so their behaviour is identical.
package admin

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"dmsdns.org/dms/dnssec"
	"dmsdns.org/dms/zonedb"
)

// Caller is who asks for an operation: it becomes change_by
// (user@host/sectag) on every zone instance the operation creates.
type Caller struct {
	User   string `json:"user"`
	Host   string `json:"host"`
	Sectag string `json:"sectag"`
	// Role is admin, helpdesk or customer (a panel login's); empty: admin
	// for the Admin sectag, customer for any other.
	Role string `json:"role,omitempty"`
	// View is the view whose zones the caller names (split horizon; ""
	// the default view): dms --view, the API's ?view=.
	View string `json:"view,omitempty"`
	// unix marks a CLI caller (a Unix user, directly or through the
	// control socket): the help desk's group applies to it.
	unix bool
}

// Roles of callers.
const (
	RoleAdmin    = "admin"
	RoleHelpdesk = "helpdesk"
	RoleCustomer = "customer"
)

// IsAdmin says whether the caller has the Admin sectag (a caller without
// a sectag has none: every trusted path names Admin).
func (c Caller) IsAdmin() bool { return strings.EqualFold(c.Sectag, SectagAdmin) }

// mayRef says whether the caller may set references: Admin and the help
// desk (references are the provider's accounts; a customer choosing one
// would gain that account's auto-PTR privileges).
func (c Caller) mayRef() bool { return c.IsAdmin() || c.role() == RoleHelpdesk }

// role is the caller's effective role.
func (c Caller) role() string {
	switch {
	case c.Role != "":
		return c.Role
	case c.IsAdmin():
		return RoleAdmin
	}
	return RoleCustomer
}

// ChangeBy formats the caller the way zone instances record it.
func (c Caller) ChangeBy() string {
	return cmp.Or(c.User, "unknown") + "@" + cmp.Or(c.Host, "localhost") + "/" + cmp.Or(c.Sectag, SectagAdmin)
}

// SectagAdmin is the sectag of the CLI and of administrative panels.
const SectagAdmin = zonedb.SectagAdmin

// LocalCaller is the caller for a command run by this process's user.
func LocalCaller() Caller {
	name := "unknown"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	return Caller{User: name, Host: Hostname(), Sectag: SectagAdmin, unix: true}
}

// Hostname is this host's name, "localhost" when it has none.
func Hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "localhost"
	}
	return h
}

// Service performs admin operations on an open store.
type Service struct {
	db     *zonedb.DB
	log    *slog.Logger
	live   *Live
	signer *dnssec.Signer
	// updates groups concurrent dynamic updates of a zone.
	updates updateQueue
	// authCache remembers recent HTTP API logins.
	authCache authCache
	// panics counts panics recovered in requests (control socket, HTTP
	// API), for dms_panics_total.
	panics atomic.Uint64
	// beforeCommit, set by tests, runs after a commit's own checks and
	// before its transaction.
	beforeCommit func()
	// cluster is the cluster this node is part of (nil: none).
	cluster Cluster
	// lastCheck is the last dms zone check run here (status, metrics).
	checkMu   sync.Mutex
	lastCheck *ZoneCheckResult
}

// Panicked counts a panic recovered while handling a request.
func (s *Service) Panicked() { s.panics.Add(1) }

// Panics is the number of panics recovered in requests to the service.
func (s *Service) Panics() uint64 { return s.panics.Load() }

// Signer is the store's DNSSEC signer (for its metrics).
func (s *Service) Signer() *dnssec.Signer { return s.signer }

// New returns a Service on db. log may be nil.
func New(db *zonedb.DB, log *slog.Logger) *Service {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Every commit path (socket, direct CLI, HTTP) goes through here, so
	// signed zones are always signed at commit.
	signer := dnssec.NewSigner()
	db.SetSigner(signer)
	// Auto-PTR runs inside every commit too.
	db.SetReverser(autoPTR{})
	return &Service{db: db, log: log.With("component", "admin"), signer: signer}
}

// DB is the store the service works on.
func (s *Service) DB() *zonedb.DB { return s.db }

func (s *Service) config(v *zonedb.View) Config { return effectiveConfig(v.Config()) }

func (s *Service) commit(ctx context.Context, c Caller, zcs ...zonedb.ZoneChange) ([]zonedb.ZoneCommit, error) {
	return s.commitLocked(ctx, c, "", "", zcs...)
}

// commitLocked is commit for an edit that holds lockZone's edit lock
// with lockToken (the commit releases it).
func (s *Service) commitLocked(ctx context.Context, c Caller, lockZone, lockToken string, zcs ...zonedb.ZoneChange) ([]zonedb.ZoneCommit, error) {
	after := s.guardLocks(zcs, lockZone, lockToken)
	defer after()
	if !c.mayRef() {
		// A new zone's chosen reference is checked where it is chosen
		// (ZoneCreate, ZoneLoad), before the config's default fills in.
		for _, zc := range zcs {
			if zc.SetRef {
				return nil, errSetRef
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for i := range zcs {
		if err := signNewZone(&zcs[i]); err != nil {
			return nil, err
		}
	}
	if s.beforeCommit != nil {
		s.beforeCommit() // tests: another commit lands between the checks above and this one
	}
	start := time.Now()
	// The checks that depend on the store's data run inside the commit's
	// transaction: they see exactly what the commit changes.
	check := func(v *zonedb.View) error {
		if err := checkZoneAccess(v, c, zcs); err != nil {
			return err
		}
		return checkFlagPrivileges(v, c, zcs)
	}
	res, err := s.db.Commit(&zonedb.ChangeSet{ChangeBy: c.ChangeBy(), View: c.View, Zones: zcs, Check: check})
	if err != nil {
		return nil, err
	}
	if !c.IsAdmin() {
		res = s.ownCommits(c, res)
	}
	for _, r := range res {
		s.log.LogAttrs(ctx, slog.LevelInfo, "commit", slog.String("zone", r.Zone), slog.Uint64("zi", r.ZI),
			slog.Uint64("serial", uint64(r.Serial)), slog.String("by", c.ChangeBy()),
			slog.Float64("seconds", time.Since(start).Seconds()))
	}
	return res, nil
}

// checkZoneAccess refuses a change to a zone that is no longer among the
// caller's (its sectags changed since the caller's request was checked).
func checkZoneAccess(v *zonedb.View, c Caller, zcs []zonedb.ZoneChange) error {
	if c.IsAdmin() {
		return nil
	}
	for _, zc := range zcs {
		if zc.Create != nil {
			continue
		}
		if z, err := v.Zone(zc.Zone); err == nil && !z.HasSectag(c.Sectag) {
			return fmt.Errorf("%w: zone %s is not among sectag %s's zones", ErrForbidden, z.Name, c.Sectag)
		}
	}
	return nil
}

// change runs fn in a commit transaction as c: a change of the store that
// is not a zone's (keys, references, config, logins), logged as c's.
func (s *Service) change(c Caller, fn func(t *zonedb.Txn) error) error {
	_, err := s.db.Change(c.ChangeBy(), func(t *zonedb.Txn) error {
		if err := t.UseView(c.View); err != nil {
			return err
		}
		return fn(t)
	})
	return err
}

// errSetRef refuses a reference chosen by a caller who may not choose.
var errSetRef = fmt.Errorf("%w: only Admin and the help desk may set a zone's reference", ErrForbidden)

// ownCommits keeps the results of the zones c may see (auto-PTR may have
// changed reverse zones of others; what it did is on c's own result).
func (s *Service) ownCommits(c Caller, res []zonedb.ZoneCommit) []zonedb.ZoneCommit {
	out := res[:0:0]
	_ = s.read(c, func(v *zonedb.View) error {
		for _, r := range res {
			if z, err := v.ZoneByID(r.ID); err == nil && z.HasSectag(c.Sectag) || r.Destroyed {
				out = append(out, r)
			}
		}
		return nil
	})
	return out
}

func zoneName(name string) (string, error) {
	n, err := zonedb.CanonicalZoneName(name)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrUsage, trimPrefix(err.Error(), zonedb.ErrBadInput.Error()+": "))
	}
	return n, nil
}

// read runs fn in a read transaction whose zone lookups by name find the
// zones of c's view (Caller.View).
func (s *Service) read(c Caller, fn func(v *zonedb.View) error) error {
	return s.db.View(func(v *zonedb.View) error {
		if err := v.UseViewNamed(c.View); err != nil {
			return err
		}
		return fn(v)
	})
}
