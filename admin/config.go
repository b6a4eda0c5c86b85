package admin

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// ConfigKey describes one configuration key: its default, what values it
// takes and what it is for.
type ConfigKey struct {
	Name    string `json:"name"`
	Default string `json:"default"`
	Kind    string `json:"kind"` // bool, ttl, int, float, name, names, ref, string
	Help    string `json:"help"`
}

// configKeys are the keys of the old system's show_config plus dms's own
// (auto-PTR switches, apex_ns), in display order.
var configKeys = []ConfigKey{
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
	{"syslog_max_age", "120", "float", "days to keep log events"},
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

// intRanges bound the int keys that have bounds.
var intRanges = map[string][2]int{
	"api_rate_burst":  {1, 3600},
	"api_rate_client": {0, 1000000},
	"api_rate_login":  {0, 1000000},
	"rrl_ipv4_prefix": {1, 32},
	"rrl_ipv6_prefix": {1, 128},
	"rrl_slip":        {0, 10},
	"rrl_window":      {1, 3600},
}

// ConfigKeys returns the known configuration keys.
func ConfigKeys() []ConfigKey { return slices.Clone(configKeys) }

func lookupKey(name string) (ConfigKey, bool) {
	for _, k := range configKeys {
		if k.Name == name {
			return k, true
		}
	}
	return ConfigKey{}, false
}

func keyNames() string {
	names := make([]string, len(configKeys))
	for i, k := range configKeys {
		names[i] = k.Name
	}
	return strings.Join(names, ", ")
}

// normalizeConfig validates value for key and returns the form to store.
func normalizeConfig(key, value string) (string, error) {
	k, ok := lookupKey(key)
	if !ok {
		return "", fmt.Errorf("%w: unknown config key %q; the keys are: %s", ErrUsage, key, keyNames())
	}
	value = strings.TrimSpace(value)
	if value == "" {
		return "", nil // back to the default
	}
	switch k.Kind {
	case "bool":
		b, err := parseBool(value)
		if err != nil {
			return "", fmt.Errorf("%w: %s takes true or false (or yes/no, on/off), not %q", ErrUsage, key, value)
		}
		return strconv.FormatBool(b), nil
	case "ttl":
		if _, err := ParseTTL(value); err != nil {
			return "", fmt.Errorf("%w: %s takes a TTL such as 3600, 10m, 24h or 7d: %v", ErrUsage, key, err)
		}
		return value, nil
	case "int":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 {
			return "", fmt.Errorf("%w: %s takes a whole number >= 0, not %q", ErrUsage, key, value)
		}
		if r, ok := intRanges[key]; ok && (n < r[0] || n > r[1]) {
			return "", fmt.Errorf("%w: %s takes a whole number from %d to %d, not %d", ErrUsage, key, r[0], r[1], n)
		}
		return strconv.Itoa(n), nil
	case "float":
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 {
			return "", fmt.Errorf("%w: %s takes a number of days >= 0, not %q", ErrUsage, key, value)
		}
		return strconv.FormatFloat(f, 'f', -1, 64), nil
	case "name":
		if _, ok := dns.IsDomainName(value); !ok || strings.Contains(value, " ") {
			return "", fmt.Errorf("%w: %s takes a domain name, not %q", ErrUsage, key, value)
		}
		return dns.Fqdn(value), nil
	case "names":
		var out []string
		for _, n := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
			if _, ok := dns.IsDomainName(n); !ok {
				return "", fmt.Errorf("%w: %s takes domain names, and %q is not one", ErrUsage, key, n)
			}
			out = append(out, dns.Fqdn(n))
		}
		return strings.Join(out, " "), nil
	case "ref":
		if !validRef(value) {
			return "", fmt.Errorf("%w: %s takes a reference (letters, digits and -_.@), not %q", ErrUsage, key, value)
		}
		return value, nil
	case "addrs":
		var out []string
		for _, a := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
			ap, err := zonedb.ParseServerAddress(a)
			if err != nil {
				return "", fmt.Errorf("%w: %s takes addresses with optional ports (192.0.2.1, [2001:db8::1]:5353), and %q is not one", ErrUsage, key, a)
			}
			out = append(out, ap.String())
		}
		return strings.Join(out, " "), nil
	case "ips":
		var out []string
		for _, a := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
			ip, err := netip.ParseAddr(a)
			if err != nil || ip.Zone() != "" {
				return "", fmt.Errorf("%w: %s takes IP addresses, and %q is not one", ErrUsage, key, a)
			}
			out = append(out, ip.Unmap().String())
		}
		return strings.Join(out, " "), nil
	case "prefixes":
		var out []string
		for _, a := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
			if p, err := netip.ParsePrefix(a); err == nil {
				out = append(out, p.Masked().String())
			} else if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
				out = append(out, ip.Unmap().String())
			} else {
				return "", fmt.Errorf("%w: %s takes addresses or prefixes (192.0.2.0/24, 2001:db8::/32), and %q is neither", ErrUsage, key, a)
			}
		}
		return strings.Join(out, " "), nil
	case "stype":
		if value != "bind9" && value != "knot" && value != "nsd" {
			return "", fmt.Errorf("%w: %s takes bind9, knot or nsd, not %q", ErrUsage, key, value)
		}
		return value, nil
	}
	return value, nil
}

func parseBool(s string) (bool, error) {
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
func EffectiveConfig(stored map[string]string) Config { return effectiveConfig(stored) }

func effectiveConfig(stored map[string]string) Config {
	c := Config{}
	for _, k := range configKeys {
		c[k.Name] = k.Default
		if v, ok := stored[k.Name]; ok {
			c[k.Name] = v
		}
	}
	return c
}

// Bool reads a boolean key.
func (c Config) Bool(key string) bool { b, _ := parseBool(c[key]); return b }

// Int reads a whole-number key (0 when unset or bad).
func (c Config) Int(key string) int { n, _ := strconv.Atoi(c[key]); return n }

// TTL reads a TTL key (0 when unset or bad).
func (c Config) TTL(key string) uint32 { t, _ := ParseTTL(c[key]); return t }
