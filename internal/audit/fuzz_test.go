package audit

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"
)

// FuzzVerify feeds Verify, which parses every file of an audit directory
// (segments, digests, signatures, exported gzip files), with arbitrary
// bytes: it must report, never panic, and its counts must add up.
func FuzzVerify(f *testing.F) {
	key := newKey(f)
	dir := buildLog(f, key)
	read := func(d, name string) []byte {
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	segs := files(f, dir, segPrefix, segSuffix)
	d1 := digestName(1)
	f.Add(read(dir, segs[0]), read(dir, d1), read(dir, d1+sigSuffix), false)
	f.Add(read(dir, segs[1]), read(dir, d1), read(dir, d1+sigSuffix), false)
	out := filepath.Join(f.TempDir(), "export")
	if _, err := Export(context.Background(), dir, out, key); err != nil {
		f.Fatal(err)
	}
	exp := files(f, out, exportPrefix, exportSuffix)
	f.Add(read(out, exp[0]), read(out, d1), read(out, d1+sigSuffix), true)
	f.Add([]byte("{}\n{\"prev\":\"00\"}\n"), []byte(`{"logFiles":[{"file":"seg-00000000000000000001.jsonl"}]}`), []byte("zz"), false)
	f.Fuzz(func(t *testing.T, data, dig, sig []byte, exported bool) {
		name := segName(1)
		if exported {
			name = exportPrefix + "00000000000000000001" + exportSuffix
		}
		fsys := fstest.MapFS{
			name:           {Data: data},
			d1:             {Data: dig},
			d1 + sigSuffix: {Data: sig},
		}
		r, err := VerifyFS(fsys, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.OK() && r.Records != r.Covered+r.Tail {
			t.Fatalf("records %d != covered %d + tail %d", r.Records, r.Covered, r.Tail)
		}
		if r.OK() && r.Exported != exported {
			t.Fatalf("exported %v, files were exported: %v", r.Exported, exported)
		}
	})
}
