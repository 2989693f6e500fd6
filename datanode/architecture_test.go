package datanode

import (
	"go/build"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// module is the import path of the repository's module.
const module = "github.com/chkv/chkv"

// deps returns the module's packages that pkg (an import path of the
// module) imports, directly or not, leaving out test files. It reads the
// sources with go/build, as go list -deps does.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	var visit func(string)
	visit = func(p string) {
		dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(p, module), "/")))
		bp, err := build.ImportDir(dir, 0)
		if err != nil {
			t.Fatalf("reading %s: %v", p, err)
		}
		for _, imp := range bp.Imports {
			if (imp == module || strings.HasPrefix(imp, module+"/")) && !seen[imp] {
				seen[imp] = true
				visit(imp)
			}
		}
	}
	visit(pkg)
	var out []string
	for p := range seen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// TestArchitectureImportDirection checks that the DataNode's packages
// depend on each other one way only: the server wires membership,
// migration and the ownership table; membership and migration know the
// ownership table but not the server; migration does not know membership;
// the ownership table knows none of them (docs/DESIGN.md §4).
func TestArchitectureImportDirection(t *testing.T) {
	const (
		server     = module + "/datanode"
		ownership  = module + "/datanode/ownership"
		migration  = module + "/datanode/migration"
		membership = module + "/datanode/membership"
	)
	forbidden := map[string][]string{
		ownership:  {server, membership, migration},
		migration:  {server, membership},
		membership: {server},
	}
	for pkg, not := range forbidden {
		d := deps(t, pkg)
		for _, f := range not {
			if slices.Contains(d, f) {
				t.Errorf("%s imports %s (directly or not); dependencies must point the other way", pkg, f)
			}
		}
	}
	// The server must actually use the parts, or the check above proves
	// nothing about this tree.
	d := deps(t, server)
	for _, p := range []string{ownership, migration, membership} {
		if !slices.Contains(d, p) {
			t.Errorf("%s does not import %s: the layout checked here is stale", server, p)
		}
	}
}
