package policy

import (
	"go/ast"
	"go/constant"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeImporter gives every import an empty, complete package: the check
// below only needs this package's own types, and type errors about
// imported names are ignored.
type fakeImporter struct{}

func (fakeImporter) Import(path string) (*types.Package, error) {
	p := types.NewPackage(path, filepath.Base(path))
	p.MarkComplete()
	return p, nil
}

// TestEmittedRulesAreCatalogued type-checks the package's source and
// checks every RuleID value the code can produce: each constant of type
// RuleID (named, or a literal converted where a RuleID is expected) must be
// in the catalog, and no RuleID may be built from a run-time string. A
// rule missing from the catalog would get the fail-closed default (ask),
// which --yolo skips, instead of its intended decision.
func TestEmittedRulesAreCatalogued(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		src, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, n, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	info := &types.Info{Types: map[ast.Expr]types.TypeAndValue{}}
	conf := types.Config{Importer: fakeImporter{}, Error: func(error) {}}
	pkg, _ := conf.Check("hermes-exec/policy", fset, files, info)
	ruleType := pkg.Scope().Lookup("RuleID")
	if ruleType == nil {
		t.Fatal("type RuleID not found")
	}
	seen := 0
	for e, tv := range info.Types {
		if !types.Identical(tv.Type, ruleType.Type()) {
			continue
		}
		if tv.Value != nil {
			seen++
			id := RuleID(constant.StringVal(tv.Value))
			if _, ok := catalogIndex()[id]; !ok && id != noRule {
				t.Errorf("%s: rule %q is not in the catalog", fset.Position(e.Pos()), id)
			}
			continue
		}
		if call, ok := e.(*ast.CallExpr); ok {
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "RuleID" {
				t.Errorf("%s: RuleID built from a run-time value; use a constant", fset.Position(e.Pos()))
			}
		}
	}
	if seen < len(catalog) {
		t.Fatalf("only %d RuleID constants seen in the source, fewer than the %d catalog entries: the check is not looking", seen, len(catalog))
	}
}

// TestCatalogUnique: one catalog entry per rule.
func TestCatalogUnique(t *testing.T) {
	seen := map[RuleID]bool{}
	for _, r := range catalog {
		if seen[r.ID] {
			t.Errorf("rule %s is catalogued twice", r.ID)
		}
		seen[r.ID] = true
	}
}
