package zonedb

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// oneDoorExceptions are the functions outside door.go allowed to write a
// zone bucket, each with its reason.
var oneDoorExceptions = map[string]string{
	// A schema migration at Open changes how the store keeps zones, not
	// what they hold; it runs once, before any commit, on each store (a
	// replica migrates its own).
	"migrateChains": "schema migration at Open",
}

// bucketWriters are bbolt's writing methods; genericWriters write any
// bucket they are given (their callers are checked instead).
var (
	bucketWriters  = []string{"Put", "Delete", "NextSequence", "SetSequence", "CreateBucket", "CreateBucketIfNotExists", "DeleteBucket"}
	genericWriters = []string{"putJSON", "deletePrefix", "raiseSequence"}
)

// TestOneDoor reads the package's source: nothing outside the commit
// transaction's door (door.go) writes the store: its zone data and its
// other objects (server groups, servers, keys, config, sectags, logins,
// references). The meta bucket's bookkeeping and the event log are apart. A function that
// calls a bbolt write (or a helper that writes the bucket it is given)
// and names a zone bucket, or takes a bucket or cursor to write, must be
// in door.go or in the exceptions above with its reason.
func TestOneDoor(t *testing.T) {
	zoneBucketNames := map[string]bool{}
	for _, b := range []string{"bucketRR", "bucketZI", "bucketZIDiff", "bucketZones", "bucketZoneNames", "bucketDNSSECKeys", "bucketComments", "bucketRefZones",
		"bucketSGs", "bucketServers", "bucketTSIG", "bucketConfig", "bucketSectags", "bucketAPIUsers", "bucketRefs", "bucketRefNames", "bucketViews"} {
		zoneBucketNames[b] = true
	}
	if len(zoneBucketNames) != len(doorBuckets) || len(doorBuckets) != len(allBuckets)-2 {
		t.Fatalf("doorBuckets has %d buckets, this test knows %d, the store has %d (all but meta and events)", len(doorBuckets), len(zoneBucketNames), len(allBuckets))
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	used := map[string]bool{}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") || file == "door.go" {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := funcName(fd)
			if slices.Contains(genericWriters, name) {
				continue
			}
			writes, zoneRef := false, false
			ast.Inspect(fd.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					switch fn := n.Fun.(type) {
					case *ast.SelectorExpr:
						writes = writes || slices.Contains(bucketWriters, fn.Sel.Name) && !isMapOrSet(fn)
					case *ast.Ident:
						writes = writes || slices.Contains(genericWriters, fn.Name)
					}
				case *ast.AssignStmt:
					for _, l := range n.Lhs {
						if s, ok := l.(*ast.SelectorExpr); ok && s.Sel.Name == "FillPercent" {
							writes = true
						}
					}
				case *ast.Ident:
					zoneRef = zoneRef || zoneBucketNames[n.Name]
				}
				return true
			})
			checked++
			if !writes {
				continue
			}
			if zoneRef || takesBucket(fd) {
				used[name] = true
				if _, ok := oneDoorExceptions[name]; !ok {
					t.Errorf("%s: %s writes the store and names a zone bucket (or takes a bucket to write) outside the commit door (door.go)",
						fset.Position(fd.Pos()), name)
				}
			}
		}
	}
	for name := range oneDoorExceptions {
		if !used[name] {
			t.Errorf("exception %s writes no zone bucket any more: take it off the list", name)
		}
	}
	if checked < 300 {
		t.Errorf("only %d functions read: is the test reading the package?", checked)
	}
}

func funcName(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	var recv string
	switch r := fd.Recv.List[0].Type.(type) {
	case *ast.StarExpr:
		recv = "(*" + r.X.(*ast.Ident).Name + ")"
	case *ast.Ident:
		recv = r.Name
	}
	return recv + "." + fd.Name.Name
}

// takesBucket reports whether fd has a bbolt bucket or cursor parameter
// (or receiver field it could write through: SignContext writes through
// its Txn).
func takesBucket(fd *ast.FuncDecl) bool {
	for _, fl := range []*ast.FieldList{fd.Recv, fd.Type.Params} {
		if fl == nil {
			continue
		}
		for _, f := range fl.List {
			if s, ok := f.Type.(*ast.StarExpr); ok {
				if sel, ok := s.X.(*ast.SelectorExpr); ok && (sel.Sel.Name == "Bucket" || sel.Sel.Name == "Cursor") {
					return true
				}
			}
		}
	}
	return false
}

// isMapOrSet tells the bbolt writers from the same-named functions of
// the standard library's slices and maps.
func isMapOrSet(s *ast.SelectorExpr) bool {
	id, ok := s.X.(*ast.Ident)
	return ok && (id.Name == "slices" || id.Name == "maps")
}
