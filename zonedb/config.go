package zonedb

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The configuration: one table of every key with its default, kind and
// meaning, and one typed accessor every package reads it through (admin,
// xfr, dnssec, zonedb), so defaults are written once and a key nothing
// reads cannot hide (TestEveryConfigKeyIsRead). The values are stored as
// text in the config bucket (DB.SetConfig); Config is the stored values
// over the defaults.

// ConfigKey describes one configuration key: its default, what values it
// takes and what it is for.
type ConfigKey struct {
	Name    string `json:"name"`
	Default string `json:"default"`
	Kind    string `json:"kind"` // bool, ttl, int, float, name, names, ref, string
	Help    string `json:"help"`
}

// configTable are the keys of the old system's show_config plus dms's own
// (auto-PTR switches, apex_ns), in display order.
var configTable = []ConfigKey{
	{"also_notify", "", "addrs", "addresses (host or host:port) notified of every zone change besides the SG servers"},
	{"apex_ns", "", "names", "apex NS names for new zones when they have no server group (space or comma separated)"},
	{"api_max_body", "4194304", "int", "largest HTTP API request body, in bytes"},
	{"api_rate_burst", "5", "int", "seconds of its rate an HTTP API client or login may spend at once"},
	{"api_rate_client", "50", "int", "HTTP API requests per second from one client address (IPv6: its /64), logged in or not; over it: 429 (0: no limit)"},
	{"api_rate_login", "20", "int", "HTTP API requests per second of one login; over it: 429 (0: no limit)"},
	{"auto_create_ipv4_ptr", "false", "bool", "A records feed auto-PTR (off: only those flagged FORCEREV or TRACKREV)"},
	{"auto_create_ipv6_ptr", "true", "bool", "AAAA records feed auto-PTR (off: only those flagged FORCEREV or TRACKREV)"},
	{"auto_delete_ptr", "true", "bool", "remove our PTR when its forward address record is deleted"},
	{"auto_dnssec", "false", "bool", "sign new zones"},
	{"auto_reverse", "true", "bool", "maintain reverse PTR records at commit"},
	{"check_resolver", "", "addrs", "a resolver dms zone check asks for the addresses of NS names outside the zones served here (unset: those are not checked)"},
	{"default_ref", "", "ref", "reference given to new zones without --ref"},
	{"default_sg", "", "string", "server group of new zones without --sg"},
	{"default_stype", "bind9", "stype", "server type of new servers (bind9, knot, nsd)"},
	{"dnssec_ds_resolver", "", "addrs", "a resolver asked for the DS of zones whose parent is elsewhere, so a new KSK's DS is seen without ds-seen"},
	{"dnssec_ds_ttl", "1d", "ttl", "the parent's DS TTL, waited for before an old KSK or CSK leaves"},
	{"dnssec_publish_safety", "1h", "ttl", "added to the DNSKEY TTL before a published key signs"},
	{"dnssec_retire_safety", "1d", "ttl", "added before a retired key leaves; must cover the zone's longest TTL"},
	{"dnssec_zsk_lifetime", "90d", "ttl", "ZSKs roll by pre-publication this often (0: never)"},
	{"edit_lock", "false", "bool", "new zones lock while someone edits them"},
	{"edit_lock_timeout", "30m", "ttl", "an edit lock not released by then is broken (a failed edit in the event log)"},
	{"event_max_age", "120", "float", "days to keep events"},
	{"helpdesk_group", "", "string", "a Unix group: its members (root aside) running dms get the help desk's commands only (zones and records, not server groups, servers, keys, views or config)"},
	{"inc_updates", "false", "bool", "new zones take incremental updates (auto-PTR, dynamic DNS)"},
	{"notify_source", "", "ips", "local addresses NOTIFY is sent from, one IPv4 and one IPv6 (secondaries accept NOTIFY only from their primaries)"},
	{"nsec3", "true", "bool", "signed zones use NSEC3 (else NSEC)"},
	{"rrl_exempt", "", "prefixes", "networks never rate limited (the secondaries of every SG always are)"},
	{"rrl_ipv4_prefix", "24", "int", "IPv4 clients are rate limited per network of this prefix length (BIND's ipv4-prefix-length)"},
	{"rrl_ipv6_prefix", "56", "int", "IPv6 clients are rate limited per network of this prefix length (BIND's ipv6-prefix-length)"},
	{"rrl_log_only", "false", "bool", "log and count what rate limiting would drop or slip, and answer it all"},
	{"rrl_responses_per_second", "0", "int", "UDP responses per second per client network and response (0: response rate limiting off)"},
	{"rrl_slip", "2", "int", "every Nth rate-limited response goes out truncated (TC) so real clients retry over TCP; 0: drop them all"},
	{"rrl_window", "15", "int", "seconds a flood is remembered: a client network's debt is bounded by this many seconds of the rate"},
	{"soa_expire", "7d", "ttl", "SOA expire of new zones"},
	{"soa_minimum", "10m", "ttl", "SOA minimum (negative caching TTL) of new zones"},
	{"soa_mname", "", "name", "SOA MNAME (primary master) of new zones"},
	{"soa_refresh", "600", "ttl", "SOA refresh of new zones"},
	{"soa_retry", "600", "ttl", "SOA retry of new zones"},
	{"soa_rname", "", "name", "SOA RNAME (hostmaster mailbox as a name) of new zones"},
	{"soa_ttl", "", "ttl", "TTL of the SOA record of new zones (empty: zone_ttl)"},
	{"status_broken_after", "30m", "ttl", "a secondary unanswering this long goes from RETRY to BROKEN"},
	{"status_interval", "30s", "ttl", "how often dms serve polls each secondary's serials"},
	{"status_lag_threshold", "5m", "ttl", "a secondary behind on a zone this long is LAGGING"},
	{"status_sample", "20", "int", "member zones checked per secondary per poll, besides the catalog"},
	{"use_apex_ns", "true", "bool", "apex NS of new zones come from their server group"},
	{"xfr_allow", "", "prefixes", "addresses or prefixes (monitoring hosts) that may transfer every zone"},
	{"zi_max_age", "90", "float", "days to keep old zone instances"},
	{"zi_max_num", "25", "int", "zone instances to keep per zone"},
	{"zone_del_age", "0", "float", "days before deleted zones are destroyed (0: never)"},
	{"zone_del_pare_age", "90", "float", "days before a deleted zone's history is pared to one instance (0: never)"},
	{"zone_max_records", "1048576", "int", "most records a zone text may make, $GENERATE ranges counted before they are expanded (0: no limit)"},
	{"zone_max_records_panel", "100000", "int", "the same for customer and help-desk logins of the HTTP API (never above zone_max_records)"},
	{"zone_ttl", "24h", "ttl", "default TTL of new zones"},
}

// ConfigRanges bound the int keys that have bounds.
var ConfigRanges = map[string][2]int{
	"api_rate_burst":  {1, 3600},
	"api_rate_client": {0, 1000000},
	"api_rate_login":  {0, 1000000},
	"rrl_ipv4_prefix": {1, 32},
	"rrl_ipv6_prefix": {1, 128},
	"rrl_slip":        {0, 10},
	"rrl_window":      {1, 3600},
}

// ConfigKeys returns the known configuration keys, in display order.
func ConfigKeys() []ConfigKey { return slices.Clone(configTable) }

// LookupConfigKey returns the key called name.
func LookupConfigKey(name string) (ConfigKey, bool) {
	for _, k := range configTable {
		if k.Name == name {
			return k, true
		}
	}
	return ConfigKey{}, false
}

// ParseBool reads true/false, yes/no, on/off, 1/0.
func ParseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("not a boolean: %q", s)
}

// ParseTTL reads a TTL in seconds or BIND's unit form (1w2d3h4m5s).
func ParseTTL(s string) (uint32, error) {
	if s == "" {
		return 0, fmt.Errorf("empty TTL")
	}
	if n, err := strconv.ParseUint(s, 10, 32); err == nil {
		if n > 1<<31-1 {
			return 0, fmt.Errorf("TTL %d is above 2147483647 (RFC 2181 section 8)", n)
		}
		return uint32(n), nil
	}
	var total, cur uint64
	digits := false
	for _, c := range strings.ToLower(s) {
		if c >= '0' && c <= '9' {
			cur = cur*10 + uint64(c-'0')
			digits = true
			if cur > 1<<32 {
				return 0, fmt.Errorf("TTL %q is too large", s)
			}
			continue
		}
		if !digits {
			return 0, fmt.Errorf("bad TTL %q", s)
		}
		var unit time.Duration
		switch c {
		case 's':
			unit = time.Second
		case 'm':
			unit = time.Minute
		case 'h':
			unit = time.Hour
		case 'd':
			unit = 24 * time.Hour
		case 'w':
			unit = 7 * 24 * time.Hour
		default:
			return 0, fmt.Errorf("bad TTL %q: unknown unit %q", s, c)
		}
		total += cur * uint64(unit/time.Second)
		cur, digits = 0, false
	}
	if digits {
		return 0, fmt.Errorf("bad TTL %q: a number without a unit after units", s)
	}
	if total > 1<<31-1 {
		return 0, fmt.Errorf("TTL %q is above 2147483647 seconds (RFC 2181 section 8)", s)
	}
	return uint32(total), nil
}

// Config is the effective configuration: stored values over defaults.
type Config map[string]string

// EffectiveConfig is the stored configuration over the defaults.
func EffectiveConfig(stored map[string]string) Config {
	c := Config{}
	for _, k := range configTable {
		c[k.Name] = k.Default
		if v, ok := stored[k.Name]; ok {
			c[k.Name] = v
		}
	}
	return c
}

// Bool reads a boolean key.
func (c Config) Bool(key string) bool { b, _ := ParseBool(c[key]); return b }

// Int reads a whole-number key (0 when unset or bad).
func (c Config) Int(key string) int { n, _ := strconv.Atoi(c[key]); return n }

// TTL reads a TTL key (0 when unset or bad).
func (c Config) TTL(key string) uint32 { t, _ := ParseTTL(c[key]); return t }

// Duration reads a TTL-form key as a duration (0 when unset or bad).
func (c Config) Duration(key string) time.Duration { return time.Duration(c.TTL(key)) * time.Second }

// Days reads a key in days (a float, as zi_max_age) as a duration.
func (c Config) Days(key string) time.Duration {
	f, _ := strconv.ParseFloat(c[key], 64)
	return time.Duration(f * float64(24*time.Hour))
}

// Fields reads a list key (space or comma separated).
func (c Config) Fields(key string) []string {
	return strings.FieldsFunc(c[key], func(r rune) bool { return r == ' ' || r == ',' })
}

// EffectiveConfig is the view's configuration over the defaults.
func (v *View) EffectiveConfig() Config { return EffectiveConfig(v.Config()) }
