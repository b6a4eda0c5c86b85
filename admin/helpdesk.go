package admin

import (
	"fmt"
	"os/user"
	"slices"
	"strings"

	"dmsdns.org/dms/zonedb"
)

// The help desk at the CLI (the old system's restricted zone_tool shell): a
// Unix user in the group of config helpdesk_group who runs dms (directly,
// or through the control socket, which knows the peer's uid) gets the help
// desk's commands only: the zones' content and state, not the server
// groups, servers, keys, views, configuration or destruction. root and the
// users outside the group are Admin.

// ConfigHelpdeskGroup names the Unix group of the help desk.
const ConfigHelpdeskGroup = "helpdesk_group"

// helpdeskOps are what the help desk may run at the CLI: zone_tool's
// restricted commands, and reading.
var helpdeskOps = map[string]bool{
	"zone.create": true, "zone.load": true, "zone.show": true, "zone.replace": true, "zone.info": true, "zone.list": true,
	"zone.history": true, "zone.diff": true, "zone.rollback": true, "zone.delete": true, "zone.undelete": true,
	"zone.set": true, "zone.notify": true, "zone.ttl": true, "zone.copy": true, "zone.check": true, "zone.unlock": true,
	"zone.lock": true, "zone.update_rrs": true, "zone.rrsets": true, "zone.rrsets_patch": true, "zone.serial": true,
	"zone.sectag_list": true, "zone.set_ref": true, "record.add": true, "record.delete": true, "record.find": true,
	"config.show": true, "status": true, "ref.list": true, "ref.create": true, "event.list": true, "event.show": true,
	"pending": true, "sg.list": true, "sg.show": true, "server.list": true, "server.show": true, "dnssec.keys": true,
	"store.check": true,
}

// inGroup says whether Unix user name is a member of group (primary or
// supplementary); a test may replace it.
var inGroup = func(name, group string) bool {
	u, err := user.Lookup(name)
	if err != nil {
		return false
	}
	g, err := user.LookupGroup(group)
	if err != nil {
		return false
	}
	ids, err := u.GroupIds()
	if err != nil {
		return u.Gid == g.Gid
	}
	return u.Gid == g.Gid || slices.Contains(ids, g.Gid)
}

// cliRole makes a CLI caller in the help desk's group the help desk.
func (s *Service) cliRole(c Caller) Caller {
	if !c.unix || c.Role != "" || c.User == "root" {
		return c
	}
	var group string
	_ = s.db.View(func(v *zonedb.View) error { group = strings.TrimSpace(v.Config()[ConfigHelpdeskGroup]); return nil })
	if group != "" && inGroup(c.User, group) {
		c.Role = RoleHelpdesk
	}
	return c
}

// helpdeskAllowed refuses the help desk's CLI the operations it may not run.
func helpdeskAllowed(c Caller, op string) error {
	if !c.unix || c.Role != RoleHelpdesk || helpdeskOps[op] {
		return nil
	}
	return fmt.Errorf("%w: %s is in the help desk's group (config %s): it may not run %s; ask an administrator", ErrForbidden, c.User, ConfigHelpdeskGroup, op)
}
