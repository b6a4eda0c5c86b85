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
	"dmsdns.org/dms":                   {}, // this test only
	"dmsdns.org/dms/zonedb":            {},
	"dmsdns.org/dms/zonedb/zonefile":   {"dmsdns.org/dms/zonedb"},
	"dmsdns.org/dms/cluster":           {"dmsdns.org/dms/zonedb"},
	"dmsdns.org/dms/cluster/etcdtest":  {}, // tests only
	"dmsdns.org/dms/dnssec":            {"dmsdns.org/dms/zonedb"},
	"dmsdns.org/dms/authserver":        {"dmsdns.org/dms/zonedb", "dmsdns.org/dms/dnssec"},
	"dmsdns.org/dms/xfr":               {"dmsdns.org/dms/zonedb", "dmsdns.org/dms/dnssec"},
	"dmsdns.org/dms/admin":             {"dmsdns.org/dms/zonedb", "dmsdns.org/dms/zonedb/zonefile", "dmsdns.org/dms/dnssec", "dmsdns.org/dms/authserver", "dmsdns.org/dms/xfr"},
	"dmsdns.org/dms/api":               {},
	"dmsdns.org/dms/bench/floor":       {}, // make bench's floor responder: nothing of dms
	"dmsdns.org/dms/bench/firstanswer": {}, // make bench-startup's timer: nothing of dms
	"dmsdns.org/dms/admin/httpapi":     {"dmsdns.org/dms/admin", "dmsdns.org/dms/api", "dmsdns.org/dms/zonedb", "dmsdns.org/dms/zonedb/zonefile", "dmsdns.org/dms/dnssec", "dmsdns.org/dms/authserver", "dmsdns.org/dms/xfr"},
	"dmsdns.org/dms/admin/cli":         {"dmsdns.org/dms/cluster", "dmsdns.org/dms/admin", "dmsdns.org/dms/admin/httpapi", "dmsdns.org/dms/api", "dmsdns.org/dms/zonedb", "dmsdns.org/dms/zonedb/zonefile", "dmsdns.org/dms/dnssec", "dmsdns.org/dms/authserver", "dmsdns.org/dms/xfr"},
	"dmsdns.org/dms/cmd/dms":           {"dmsdns.org/dms/cluster", "dmsdns.org/dms/admin/cli", "dmsdns.org/dms/admin/httpapi", "dmsdns.org/dms/api", "dmsdns.org/dms/admin", "dmsdns.org/dms/zonedb", "dmsdns.org/dms/zonedb/zonefile", "dmsdns.org/dms/dnssec", "dmsdns.org/dms/authserver", "dmsdns.org/dms/xfr"},
}

// module is the module path (go.mod).
const module = "dmsdns.org/dms"

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
			if (d == module || strings.HasPrefix(d, module+"/")) && !slices.Contains(allowed, d) {
				t.Errorf("%s imports %s, which DESIGN.md's dependency direction forbids", pkg, d)
			}
		}
	}
}
