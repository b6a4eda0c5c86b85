package dms_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// allowedDeps is the import policy of DESIGN.md ("Layout and dependency
// direction"): cmd -> admin -> {authserver, xfr, dnssec} -> zonedb.
// Each package may import only the project packages listed for it. DO NOT
// CHANGE THIS TABLE TO FIX A BUILD: fix the import.
var allowedDeps = map[string][]string{
	"dms":                 {}, // this test only
	"dms/zonedb":          {},
	"dms/zonedb/zonefile": {"dms/zonedb"},
	"dms/dnssec":          {"dms/zonedb"},
	"dms/authserver":      {"dms/zonedb", "dms/dnssec"},
	"dms/xfr":             {"dms/zonedb", "dms/dnssec"},
	"dms/admin":           {"dms/zonedb", "dms/zonedb/zonefile", "dms/dnssec", "dms/authserver", "dms/xfr"},
	"dms/api":             {},
	"dms/admin/httpapi":   {"dms/admin", "dms/api", "dms/zonedb", "dms/zonedb/zonefile", "dms/dnssec", "dms/authserver", "dms/xfr"},
	"dms/admin/cli":       {"dms/admin", "dms/admin/httpapi", "dms/api", "dms/zonedb", "dms/zonedb/zonefile", "dms/dnssec", "dms/authserver", "dms/xfr"},
	"dms/cmd/dms":         {"dms/admin/cli", "dms/admin/httpapi", "dms/api", "dms/admin", "dms/zonedb", "dms/zonedb/zonefile", "dms/dnssec", "dms/authserver", "dms/xfr"},
}

func TestImportDirection(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "./...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkg, deps := f[0], f[1:]
		allowed, ok := allowedDeps[pkg]
		if !ok {
			t.Errorf("package %s is not in the import policy table; add it with the packages it may import", pkg)
			continue
		}
		for _, d := range deps {
			if (d == "dms" || strings.HasPrefix(d, "dms/")) && !slices.Contains(allowed, d) {
				t.Errorf("%s imports %s, which DESIGN.md's dependency direction forbids", pkg, d)
			}
		}
	}
}
