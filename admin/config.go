package admin

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/miekg/dns"

	"dmsdns.org/dms/zonedb"
)

// The key table, its parser and the typed accessor live in zonedb
// (config.go), the lowest package, so that every package reads the same
// defaults; here are the admin's validation and the names it used.

// ConfigKey describes one configuration key.
type ConfigKey = zonedb.ConfigKey

// Config is the effective configuration: stored values over defaults.
type Config = zonedb.Config

// ConfigKeys returns the known configuration keys.
func ConfigKeys() []ConfigKey { return zonedb.ConfigKeys() }

// EffectiveConfig is the stored configuration over the defaults.
func EffectiveConfig(stored map[string]string) Config { return zonedb.EffectiveConfig(stored) }

func effectiveConfig(stored map[string]string) Config { return zonedb.EffectiveConfig(stored) }

// ParseTTL reads a TTL in seconds or BIND's unit form (1w2d3h4m5s).
func ParseTTL(s string) (uint32, error) { return zonedb.ParseTTL(s) }

func parseBool(s string) (bool, error) { return zonedb.ParseBool(s) }

func lookupKey(name string) (ConfigKey, bool) { return zonedb.LookupConfigKey(name) }

func keyNames() string {
	keys := zonedb.ConfigKeys()
	names := make([]string, len(keys))
	for i, k := range keys {
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
	if item, ok := listKinds[k.Kind]; ok {
		var out []string
		for _, a := range strings.FieldsFunc(value, func(r rune) bool { return r == ',' || r == ' ' }) {
			v, err := item(key, a)
			if err != nil {
				return "", err
			}
			out = append(out, v)
		}
		return strings.Join(out, " "), nil
	}
	return normalizeScalar(key, k.Kind, value)
}

// normalizeScalar checks and normalizes a one-value key's value.
func normalizeScalar(key, kind, value string) (string, error) {
	switch kind {
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
		if r, ok := zonedb.ConfigRanges[key]; ok && (n < r[0] || n > r[1]) {
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
	case "ref":
		if !validRef(value) {
			return "", fmt.Errorf("%w: %s takes a reference (letters, digits and -_.@), not %q", ErrUsage, key, value)
		}
		return value, nil
	case "stype":
		if value != "bind9" && value != "knot" && value != "nsd" {
			return "", fmt.Errorf("%w: %s takes bind9, knot or nsd, not %q", ErrUsage, key, value)
		}
		return value, nil
	}
	return value, nil
}

// listKinds check and normalize one item of a list-valued key (items are
// separated by commas or spaces; the value keeps them space-separated).
var listKinds = map[string]func(key, item string) (string, error){
	"names": func(key, n string) (string, error) {
		if _, ok := dns.IsDomainName(n); !ok {
			return "", fmt.Errorf("%w: %s takes domain names, and %q is not one", ErrUsage, key, n)
		}
		return dns.Fqdn(n), nil
	},
	"addrs": func(key, a string) (string, error) {
		ap, err := zonedb.ParseServerAddress(a)
		if err != nil {
			return "", fmt.Errorf("%w: %s takes addresses with optional ports (192.0.2.1, [2001:db8::1]:5353), and %q is not one", ErrUsage, key, a)
		}
		return ap.String(), nil
	},
	"ips": func(key, a string) (string, error) {
		ip, err := netip.ParseAddr(a)
		if err != nil || ip.Zone() != "" {
			return "", fmt.Errorf("%w: %s takes IP addresses, and %q is not one", ErrUsage, key, a)
		}
		return ip.Unmap().String(), nil
	},
	"prefixes": func(key, a string) (string, error) {
		if p, err := netip.ParsePrefix(a); err == nil {
			return p.Masked().String(), nil
		}
		if ip, err := netip.ParseAddr(a); err == nil && ip.Zone() == "" {
			return ip.Unmap().String(), nil
		}
		return "", fmt.Errorf("%w: %s takes addresses or prefixes (192.0.2.0/24, 2001:db8::/32), and %q is neither", ErrUsage, key, a)
	},
}
