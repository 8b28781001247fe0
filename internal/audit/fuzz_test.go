package audit

import (
	"context"
	"io"
	"log/slog"
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

// FuzzOpen feeds Open's recovery with an arbitrary last segment: Open
// either refuses it or repairs it so that the log, once appended to and
// closed, verifies.
func FuzzOpen(f *testing.F) {
	key := newKey(f)
	dir := filepath.Join(f.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key})
	if err != nil {
		f.Fatal(err)
	}
	appendN(f, l, 0, 3)
	live := copyDir(f, dir)
	l.Close()
	seg, err := os.ReadFile(filepath.Join(live, segName(1)))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seg)
	f.Add(seg[:len(seg)-7])
	f.Add(append(seg[:len(seg):len(seg)], 0, 0, '\n'))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		if err := os.WriteFile(filepath.Join(d, segName(1)), data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := OpenWith(d, Options{Signer: key, Logger: discard})
		if err != nil {
			return
		}
		if err := l.Append(context.Background(), rec(1)); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		r, err := Verify(d, key.Public())
		if err != nil {
			t.Fatal(err)
		}
		if !r.OK() || r.Tail != 0 || r.Records == 0 {
			t.Fatalf("Open accepted %q, and the log does not verify after an Append: %+v", data, r)
		}
	})
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))
