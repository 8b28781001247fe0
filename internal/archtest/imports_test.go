// Package archtest checks that dependencies point one way, as
// ../shared/DESIGN.md draws them: api knows no storage, kms knows no HTTP,
// crypto, blob, arn and awserr are leaves.
package archtest

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/kagikms/kagi/"

// allowed lists, for each package, the project packages its non-test files
// may import. A package missing from the table fails the test, so every
// new package states its place.
var allowed = map[string][]string{
	"cmd/kagi":                       {"internal/server", "internal/version"},
	"internal/server":                {"internal/api", "internal/arn", "internal/audit", "internal/auth", "internal/clock", "internal/iam", "internal/keystore/software", "internal/kms", "internal/metrics", "internal/quota", "internal/rootkey", "internal/storage/bolt"},
	"internal/server/servertest":     {"internal/clock", "internal/server"},
	"internal/api":                   {"internal/audit", "internal/auth", "internal/awserr", "internal/iam", "internal/kms", "internal/policy"},
	"internal/auth":                  {"internal/awserr"},
	"internal/audit":                 {},
	"internal/metrics":               {},
	"internal/awserr":                {},
	"internal/arn":                   {},
	"internal/clock":                 {},
	"internal/iam":                   {"internal/arn", "internal/auth", "internal/awserr", "internal/clock", "internal/policy", "internal/storage"},
	"internal/kms":                   {"internal/arn", "internal/awserr", "internal/clock", "internal/crypto", "internal/crypto/blob", "internal/keystore", "internal/policy", "internal/quota", "internal/storage"},
	"internal/quota":                 {},
	"internal/keystore":              {},
	"internal/keystore/software":     {"internal/crypto", "internal/keystore", "internal/rootkey"},
	"internal/keystore/keystoretest": {"internal/crypto", "internal/keystore"},
	"internal/crypto":                {},
	"internal/crypto/blob":           {},
	"internal/rootkey":               {},
	"internal/policy":                {},
	"internal/storage":               {},
	"internal/storage/bolt":          {"internal/storage"},
	"internal/storage/storagetest":   {"internal/storage"},
	"internal/testutil":              {},
	"internal/version":               {},
	"internal/archtest":              {},
}

func TestImportRules(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules") && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		if strings.HasPrefix(rel, "test/") {
			return nil // end-to-end tests may import anything
		}
		rules, ok := allowed[rel]
		if !ok {
			t.Errorf("package %s is not in the import table of %s", rel, "internal/archtest")
			return nil
		}
		seen[rel] = true
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			dep, ok := strings.CutPrefix(p, module)
			if !ok {
				continue
			}
			if !contains(rules, dep) {
				t.Errorf("%s imports %s, which DESIGN.md's direction does not allow", filepath.ToSlash(strings.TrimPrefix(path, root+"/")), dep)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"internal/api", "internal/kms", "internal/crypto/blob"} {
		if !seen[must] {
			t.Errorf("did not see package %s: is the walk broken?", must)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
