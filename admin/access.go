package admin

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/crypto/bcrypt"

	"dmsdns.org/dms/zonedb"
)

// Who may do what. The CLI is the Admin sectag; HTTP API logins carry a
// sectag and a role. Callers without the Admin sectag see and change only
// the zones carrying their sectag, never the store-wide operations below,
// and never the sectags themselves (the reference system's rule).

// adminOps are the operations only the Admin sectag may run. Those
// that check the caller themselves (sectags, events, vacuum, update
// policies: adminOnly, so direct callers are held to it too) are not
// listed again.
var adminOps = map[string]bool{
	"config.set": true, "config.show": true, "status": true, "zone.destroy": true,
	"zone.set_sg": true, "zone.alt_sg": true, "ref.rename": true, "ref.delete": true,
	"tsig.create": true, "tsig.import": true, "tsig.list": true, "tsig.show": true, "tsig.delete": true,
	"sg.create": true, "sg.set": true, "sg.show": true, "sg.list": true, "sg.delete": true,
	"server.create": true, "server.show": true, "server.list": true, "server.enable": true, "server.disable": true,
	"server.rename": true, "server.move": true, "server.set_address": true, "server.set": true, "server.delete": true,
	"server.config": true,
	"api.user_add":  true, "api.user_passwd": true, "api.user_list": true, "api.user_delete": true,
}

// refOps set references: Admin's and the help desk's (Caller.mayRef).
var refOps = map[string]bool{"ref.create": true, "zone.set_ref": true}

// allowed says whether c may run operation op at all.
func allowed(c Caller, op string) error {
	switch {
	case c.IsAdmin():
		return nil
	case adminOps[op]:
		return fmt.Errorf("%w: only the Admin sectag may run %s", ErrForbidden, op)
	case refOps[op] && !c.mayRef():
		return fmt.Errorf("%w: only Admin and the help desk may run %s", ErrForbidden, op)
	}
	return nil
}

// zoneAccess reads a zone argument (name, network or address) for c: a
// caller without the Admin sectag reaches only zones carrying its sectag.
func (s *Service) zoneAccess(c Caller, arg string) (string, error) {
	name, err := s.zoneName(c, arg)
	if err != nil || c.IsAdmin() {
		return name, err
	}
	err = s.read(c, func(v *zonedb.View) error {
		z, err := v.Zone(name)
		if err != nil {
			return err
		}
		if !z.HasSectag(c.Sectag) {
			return fmt.Errorf("%w: zone %s is not among sectag %s's zones", ErrForbidden, name, c.Sectag)
		}
		return nil
	})
	return name, err
}

// mayCreate says whether c may create zone name (in server group sg): a
// caller without the Admin sectag may not choose a server group, nor
// create a zone inside or above a zone it does not have (that would take
// over names another customer serves).
func (s *Service) mayCreate(c Caller, name, sg string) error {
	if c.IsAdmin() {
		return nil
	}
	if sg != "" {
		return fmt.Errorf("%w: only the Admin sectag may choose a zone's server group", ErrForbidden)
	}
	return s.read(c, func(v *zonedb.View) error {
		for n := name; ; {
			if id, _, ok := v.ZoneID(n); ok && n != name {
				if z, err := v.ZoneByID(id); err == nil && !z.HasSectag(c.Sectag) {
					return fmt.Errorf("%w: %s is inside a zone of another customer", ErrForbidden, name)
				}
			}
			i, end := dns.NextLabel(n, 0)
			if end {
				break
			}
			n = n[i:]
		}
		var err error
		if e := v.ZonesBelow(name, func(z *zonedb.Zone) bool {
			if !z.HasSectag(c.Sectag) {
				err = fmt.Errorf("%w: %s holds a zone of another customer", ErrForbidden, name)
				return false
			}
			return true
		}); e != nil {
			return e
		}
		return err
	})
}

// ---- API logins ----

// APIUserRequest adds a login or changes one.
type APIUserRequest struct {
	Name     string `json:"name"`
	Sectag   string `json:"sectag,omitempty"`
	Role     string `json:"role,omitempty"`
	Password string `json:"password,omitempty"`
}

// APIUserInfo is a login without its password hash.
type APIUserInfo struct {
	Name   string `json:"name"`
	Sectag string `json:"sectag"`
	Role   string `json:"role"`
}

// minPassword is the shortest password a login may have.
const minPassword = 10

func checkPassword(p string) error {
	if len(p) < minPassword {
		return usagef("the password must have at least %d characters", minPassword)
	}
	if len(p) > 72 {
		return usagef("the password may have at most 72 bytes (bcrypt's limit)")
	}
	return nil
}

// APIUserAdd adds an HTTP API login.
func (s *Service) APIUserAdd(ctx context.Context, c Caller, req APIUserRequest) (*APIUserInfo, error) {
	if req.Sectag == "" {
		return nil, usagef("give the login's sectag (--sectag)")
	}
	role := strings.ToLower(req.Role)
	switch {
	case role == "" && strings.EqualFold(req.Sectag, SectagAdmin):
		role = RoleAdmin
	case role == "":
		role = RoleCustomer
	case role != RoleAdmin && role != RoleHelpdesk && role != RoleCustomer:
		return nil, usagef("role %q: admin, helpdesk or customer", req.Role)
	}
	if role == RoleAdmin && !strings.EqualFold(req.Sectag, SectagAdmin) {
		return nil, usagef("the admin role goes with the Admin sectag; give %s the helpdesk or customer role", req.Sectag)
	}
	if err := checkPassword(req.Password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	u := zonedb.APIUser{Name: req.Name, Sectag: req.Sectag, Role: role, Hash: string(hash)}
	if err := s.change(c, func(t *zonedb.Txn) error { return t.PutAPIUser(&u, true) }); err != nil {
		return nil, err
	}
	return &APIUserInfo{Name: u.Name, Sectag: u.Sectag, Role: role}, nil
}

// APIUserPasswd sets a login's password.
func (s *Service) APIUserPasswd(ctx context.Context, c Caller, req APIUserRequest) (*APIUserInfo, error) {
	if err := checkPassword(req.Password); err != nil {
		return nil, err
	}
	var u *zonedb.APIUser
	if err := s.read(c, func(v *zonedb.View) error { var err error; u, err = v.APIUser(req.Name); return err }); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(req.Password), bcrypt.DefaultCost)
	if err != nil {
		return nil, err
	}
	u.Hash = string(hash)
	if err := s.change(c, func(t *zonedb.Txn) error { return t.PutAPIUser(u, false) }); err != nil {
		return nil, err
	}
	s.authCache.forget(u.Name)
	return &APIUserInfo{Name: u.Name, Sectag: u.Sectag, Role: u.Role}, nil
}

// APIUserList lists the logins.
func (s *Service) APIUserList(ctx context.Context, c Caller, _ struct{}) ([]APIUserInfo, error) {
	out := []APIUserInfo{}
	err := s.read(c, func(v *zonedb.View) error {
		users, err := v.APIUsers()
		for _, u := range users {
			out = append(out, APIUserInfo{Name: u.Name, Sectag: u.Sectag, Role: u.Role})
		}
		return err
	})
	return out, err
}

// APIUserDelete removes a login.
func (s *Service) APIUserDelete(ctx context.Context, c Caller, req APIUserRequest) (*APIUserInfo, error) {
	if err := s.change(c, func(t *zonedb.Txn) error { return t.DeleteAPIUser(req.Name) }); err != nil {
		return nil, err
	}
	s.authCache.forget(req.Name)
	return &APIUserInfo{Name: req.Name}, nil
}
