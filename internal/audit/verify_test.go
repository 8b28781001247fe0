package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// rechain rewrites every line of the log in dir so that the hash chain
// links again, as someone would who edits a record and knows the format.
func rechain(t *testing.T, dir string) {
	t.Helper()
	var prev [hashLen]byte
	for _, s := range files(t, dir, segPrefix, segSuffix) {
		path := filepath.Join(dir, s)
		var out [][]byte
		for _, b := range lines(t, path) {
			l, err := parseLine(b)
			if err != nil {
				t.Fatal(err)
			}
			var nb []byte
			if l.isHeader() {
				nb = headerLine(&prev, l.Segment, l.PreviousDigest)
			} else {
				nb = appendRecordLine(nil, &prev, l.Seq, l.Record)
			}
			nb = nb[:len(nb)-1]
			prev = sha256.Sum256(nb)
			out = append(out, nb)
		}
		writeLines(t, path, out)
	}
}

// editLines applies fn to the lines of the n-th segment.
func editLines(t *testing.T, dir string, n int, fn func([][]byte) [][]byte) {
	t.Helper()
	path := filepath.Join(dir, files(t, dir, segPrefix, segSuffix)[n])
	writeLines(t, path, fn(lines(t, path)))
}

// TestVerifyTamper: every way of changing the log the issue names makes
// verify fail and say so; the untouched log verifies.
func TestVerifyTamper(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	pristine := buildLog(t, key)
	segs := files(t, pristine, segPrefix, segSuffix)
	digests := files(t, pristine, digestPrefix, digestSuffix)
	if len(segs) < 6 || len(digests) != 3 {
		t.Fatalf("the log has %d segments and %d digests; the test wants at least 6 and 3", len(segs), len(digests))
	}
	rm := func(dir string, names ...string) {
		for _, n := range names {
			if err := os.Remove(filepath.Join(dir, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	edit := func(dir, name, old, new string) {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(old)) {
			t.Fatalf("%s has no %q", name, old)
		}
		if err := os.WriteFile(p, bytes.Replace(b, []byte(old), []byte(new), 1), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name   string
		tamper func(dir string)
		want   string // in a problem
	}{
		{"untouched", func(string) {}, ""},
		{"edit a record", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte {
				ls[2] = bytes.Replace(ls[2], []byte("Encrypt"), []byte("Decrypt"), 1)
				return ls
			})
		}, "chain is broken"},
		{"edit a segment's last record", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte {
				ls[len(ls)-1] = bytes.Replace(ls[len(ls)-1], []byte("Encrypt"), []byte("Decrypt"), 1)
				return ls
			})
		}, "was changed after"},
		{"edit a record and rebuild the chain", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte {
				ls[2] = bytes.Replace(ls[2], []byte("Encrypt"), []byte("Decrypt"), 1)
				return ls
			})
			rechain(t, d)
		}, "was changed after"},
		{"delete a record", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte { return slices.Delete(ls, 2, 3) })
		}, "seq"},
		{"delete a record and rebuild the chain", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte { return slices.Delete(ls, 2, 3) })
			rechain(t, d)
		}, "was changed after"},
		{"insert a record", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte { return slices.Insert(ls, 3, ls[2]) })
		}, "chain is broken"},
		{"reorder records", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte { ls[1], ls[2] = ls[2], ls[1]; return ls })
		}, "chain is broken"},
		{"reorder records and rebuild the chain", func(d string) {
			editLines(t, d, 1, func(ls [][]byte) [][]byte { ls[1], ls[2] = ls[2], ls[1]; return ls })
			rechain(t, d)
		}, "was changed after"},
		{"delete a segment file", func(d string) { rm(d, segs[2]) }, "is missing"},
		{"delete the first segment file", func(d string) { rm(d, segs[0]) }, "is missing"},
		{"truncate a segment file", func(d string) {
			editLines(t, d, 2, func(ls [][]byte) [][]byte { return ls[:1] })
		}, "was changed after"},
		{"add a segment file", func(d string) {
			b, err := os.ReadFile(filepath.Join(d, segs[1]))
			if err != nil {
				t.Fatal(err)
			}
			n, _ := parseName(segs[1], segPrefix, segSuffix)
			if err := os.WriteFile(filepath.Join(d, segName(n+1)), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "in no digest"},
		{"swap two segment files", func(d string) {
			a, b := filepath.Join(d, segs[1]), filepath.Join(d, segs[2])
			if err := os.Rename(a, a+".x"); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(b, a); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(a+".x", b); err != nil {
				t.Fatal(err)
			}
		}, "was changed after"},
		{"remove a digest", func(d string) { rm(d, digests[0], digests[0]+sigSuffix) }, "is missing"},
		{"remove the middle digest", func(d string) { rm(d, digests[1], digests[1]+sigSuffix) }, "is missing"},
		{"remove the last digest", func(d string) { rm(d, digests[2], digests[2]+sigSuffix) }, "which is missing: the digest was removed"},
		{"remove the last digest, not its signature", func(d string) { rm(d, digests[2]) }, "the digest was removed"},
		{"edit a digest", func(d string) { edit(d, digests[1], `"records": 2`, `"records": 1`) }, "signature does not verify"},
		{"edit a signature", func(d string) {
			b, err := os.ReadFile(filepath.Join(d, digests[1]+sigSuffix))
			if err != nil {
				t.Fatal(err)
			}
			b[10] ^= 1
			if err := os.WriteFile(filepath.Join(d, digests[1]+sigSuffix), b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, "signature does not verify"},
		{"remove a signature", func(d string) { rm(d, digests[0]+sigSuffix) }, "signature file"},
		{"add a digest", func(d string) {
			b, err := os.ReadFile(filepath.Join(d, digests[2]))
			if err != nil {
				t.Fatal(err)
			}
			s, err := os.ReadFile(filepath.Join(d, digests[2]+sigSuffix))
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(d, digestName(4)), b, 0o600)
			os.WriteFile(filepath.Join(d, digestName(4)+sigSuffix), s, 0o600)
		}, "renamed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyDir(t, pristine)
			tt.tamper(dir)
			r := mustVerify(t, dir, nil)
			if tt.want == "" {
				if !r.OK() {
					t.Fatalf("the untouched log does not verify: %q", r.Problems)
				}
				if r.Records != 30 || r.Covered != 30 || r.Tail != 0 || r.Digests != 3 {
					t.Errorf("report: %+v", r)
				}
				return
			}
			if r.OK() {
				t.Fatalf("verify passed a log after %q", tt.name)
			}
			if !strings.Contains(strings.Join(r.Problems, "\n"), tt.want) {
				t.Errorf("no problem says %q: %q", tt.want, r.Problems)
			}
		})
	}
}

// TestVerifyPinnedKey: a log verifies with its own key pinned and fails
// with another; the report names the key.
func TestVerifyPinnedKey(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	dir := buildLog(t, key)
	if r := mustVerify(t, dir, key.Public()); !r.OK() {
		t.Fatalf("pinned to its own key: %q", r.Problems)
	}
	ki, _ := publicKeyInfo(key.Public())
	r := mustVerify(t, dir, newKey(t).Public())
	if r.OK() || !strings.Contains(r.Problems[0], "not by the pinned key") {
		t.Fatalf("pinned to another key: %q", r.Problems)
	}
	if r.Fingerprint == ki.fingerprint {
		t.Errorf("the report names the log's key, not the pinned one")
	}
	if r := mustVerify(t, dir, nil); r.Fingerprint != ki.fingerprint {
		t.Errorf("fingerprint %s, want %s", r.Fingerprint, ki.fingerprint)
	}
}

// TestVerifyTail: records after the last digest verify as a chain and are
// reported as what no signature covers; a torn last line is a crash's,
// reported as such, and Open drops it and goes on.
func TestVerifyTail(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	key := newKey(t)
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 5)
	if err := l.WriteDigest(ctx); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 5, 3)
	live := copyDir(t, dir) // while it runs, as a crash would leave it
	l.Close()

	r := mustVerify(t, live, nil)
	if !r.OK() || r.Covered != 5 || r.Tail != 3 {
		t.Fatalf("live copy: %+v", r)
	}
	if !strings.Contains(strings.Join(r.Notes, "\n"), "3 records after the last digest") {
		t.Errorf("notes do not tell of the tail: %q", r.Notes)
	}

	// A tail line edited in the middle of the chain shows.
	edited := copyDir(t, live)
	editLines(t, edited, len(files(t, edited, segPrefix, segSuffix))-1, func(ls [][]byte) [][]byte {
		ls[1] = bytes.Replace(ls[1], []byte("Encrypt"), []byte("Decrypt"), 1)
		return ls
	})
	if r := mustVerify(t, edited, nil); r.OK() {
		t.Error("an edited tail record verified")
	}

	// A write cut short.
	segs := files(t, live, segPrefix, segSuffix)
	last := filepath.Join(live, segs[len(segs)-1])
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(appendRecordLine(nil, &[hashLen]byte{}, 9, rec(9))[:40])
	f.Close()
	r = mustVerify(t, live, nil)
	if !r.OK() || !strings.Contains(strings.Join(r.Notes, "\n"), "ends in a partial line") {
		t.Fatalf("torn tail: %+v", r)
	}
	if got := readAll(t, live); len(got) != 8 {
		t.Errorf("Read of a torn log: %d records, want 8", len(got))
	}
	l, err = OpenWith(live, Options{Signer: key})
	if err != nil {
		t.Fatalf("Open after a torn write: %v", err)
	}
	appendN(t, l, 8, 2)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r = mustVerify(t, live, key.Public())
	if !r.OK() || r.Records != 10 || r.Tail != 0 {
		t.Fatalf("after recovery: %+v", r)
	}
	got := readAll(t, live)
	if len(got) != 10 || got[9] != string(rec(9)) {
		t.Fatalf("after recovery read %d records: %q", len(got), got)
	}
}

// TestOpenRefusesDamage: damage that is not a torn tail stops Open.
func TestOpenRefusesDamage(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 4)
	live := copyDir(t, dir)
	l.Close()
	editLines(t, live, 0, func(ls [][]byte) [][]byte { ls[1], ls[2] = ls[2], ls[1]; return ls })
	if _, err := OpenWith(live, Options{Signer: key}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("Open of a reordered tail: %v", err)
	}
}

// TestExport: exported files verify alone (with the public key in their
// digests) and fail when changed.
func TestExport(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	src := buildLog(t, key)
	out := filepath.Join(t.TempDir(), "export")
	res, err := Export(context.Background(), src, out, key)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 30 || res.Digests != 3 {
		t.Fatalf("export: %+v", res)
	}
	exp := files(t, out, exportPrefix, exportSuffix)
	digests := files(t, out, digestPrefix, digestSuffix)
	regzip := func(d, name string, fn func([]byte) []byte) {
		p := filepath.Join(d, name)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		data, err := gunzip(b)
		if err != nil {
			t.Fatal(err)
		}
		ex, err := gzipBytes(fn(data))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(p, ex, 0o600)
	}
	tests := []struct {
		name   string
		tamper func(d string)
	}{
		{"untouched", nil},
		{"edit a record", func(d string) {
			regzip(d, exp[1], func(b []byte) []byte { return bytes.Replace(b, []byte("Encrypt"), []byte("Decrypt"), 1) })
		}},
		{"delete a record", func(d string) {
			regzip(d, exp[1], func(b []byte) []byte { i := bytes.IndexByte(b, '}'); return append([]byte(`{"Records":[`), b[i+2:]...) })
		}},
		{"delete a file", func(d string) { os.Remove(filepath.Join(d, exp[0])) }},
		{"add a file", func(d string) {
			b, _ := os.ReadFile(filepath.Join(d, exp[0]))
			os.WriteFile(filepath.Join(d, exportPrefix+"00000000000000000999"+exportSuffix), b, 0o600)
		}},
		{"remove the last digest", func(d string) {
			os.Remove(filepath.Join(d, digests[len(digests)-1]))
			os.Remove(filepath.Join(d, digests[len(digests)-1]+sigSuffix))
		}},
		{"edit a digest", func(d string) {
			p := filepath.Join(d, digests[0])
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"records": `), []byte(`"records": 1`), 1), 0o600)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := copyDir(t, out)
			if tt.tamper == nil {
				r := mustVerify(t, d, key.Public())
				if !r.OK() || !r.Exported || r.Records != 30 || r.Covered != 30 {
					t.Fatalf("untouched export: %+v", r)
				}
				return
			}
			tt.tamper(d)
			if r := mustVerify(t, d, nil); r.OK() {
				t.Fatalf("verify passed an export after %q", tt.name)
			}
		})
	}
	if _, err := Export(context.Background(), src, out, key); err == nil {
		t.Error("Export into a non-empty directory")
	}
	if _, err := Export(context.Background(), src, t.TempDir(), newKey(t)); err == nil {
		t.Error("Export with another key than the log's")
	}
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
