package rootkey

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// sameKey reports whether a and b are the same key.
func sameKey(t *testing.T, a, b *Key) bool {
	t.Helper()
	sealed, err := a.Seal([]byte("probe"), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = b.Open(sealed, nil)
	return err == nil
}

// onlyFile fails unless dir holds exactly the key file: no temporary
// copies of the key are left behind.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != name {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Fatalf("directory holds %q, want only %q", names, name)
	}
}

func TestLoadOrCreateFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")

	k1, created, err := LoadOrCreateFile(path)
	if err != nil || !created {
		t.Fatalf("first LoadOrCreateFile = %v, %v; want created", created, err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() != Size {
		t.Errorf("key file is %d bytes, want %d", fi.Size(), Size)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode = %04o, want 0600", fi.Mode().Perm())
	}
	onlyFile(t, dir, "root.key")

	k2, created, err := LoadOrCreateFile(path)
	if err != nil || created {
		t.Fatalf("second LoadOrCreateFile = %v, %v; want loaded", created, err)
	}
	if !sameKey(t, k1, k2) {
		t.Fatal("reloaded key differs from the created one")
	}
	raw, _ := os.ReadFile(path)
	if !sameKey(t, k1, mustKey(t, raw)) {
		t.Fatal("key file does not hold the key")
	}

	// Another file gets another key.
	k3, created, err := LoadOrCreateFile(filepath.Join(dir, "other.key"))
	if err != nil || !created {
		t.Fatalf("LoadOrCreateFile(other) = %v, %v", created, err)
	}
	if sameKey(t, k1, k3) {
		t.Fatal("two created key files hold the same key")
	}
}

func TestLoadExisting(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "root.key")
	if err := os.WriteFile(path, testKeyBytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	k, created, err := LoadOrCreateFile(path)
	if err != nil || created {
		t.Fatalf("LoadOrCreateFile = %v, %v", created, err)
	}
	if !sameKey(t, k, mustKey(t, testKeyBytes())) {
		t.Fatal("loaded the wrong key")
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	if k, err := LoadFile(path); k != nil || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("LoadFile of a missing file = %v, %v; want fs.ErrNotExist", k, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Fatalf("LoadFile of a missing file left %d files behind", len(ents))
	}
	if err := os.WriteFile(path, testKeyBytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !sameKey(t, k, mustKey(t, testKeyBytes())) {
		t.Fatal("loaded the wrong key")
	}
}

func TestLoadRefuses(t *testing.T) {
	t.Parallel()
	kb := testKeyBytes()
	tests := []struct {
		name    string
		setup   func(path string) error
		wantMsg string
	}{
		{"empty", func(p string) error { return os.WriteFile(p, nil, 0o600) }, "bytes"},
		{"short", func(p string) error { return os.WriteFile(p, kb[:31], 0o600) }, "bytes"},
		{"long", func(p string) error { return os.WriteFile(p, append(kb, '\n'), 0o600) }, "bytes"},
		{"hex text", func(p string) error { return os.WriteFile(p, []byte(strings.Repeat("ab", 32)), 0o600) }, "bytes"},
		{"group readable", func(p string) error { return writeMode(p, kb, 0o640) }, "0640"},
		{"world readable", func(p string) error { return writeMode(p, kb, 0o604) }, "0604"},
		{"group writable", func(p string) error { return writeMode(p, kb, 0o620) }, "0620"},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }, "not a regular file"},
		{"dangling symlink", func(p string) error { return os.Symlink(p+".missing", p) }, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if runtime.GOOS == "windows" && (strings.Contains(tt.name, "able") || strings.Contains(tt.name, "symlink")) {
				t.Skip("no Unix permissions or symlinks")
			}
			dir := t.TempDir()
			path := filepath.Join(dir, "root.key")
			if err := tt.setup(path); err != nil {
				t.Fatal(err)
			}
			before, _ := os.ReadFile(path)
			if k, err := LoadFile(path); err == nil || k != nil {
				t.Fatalf("LoadFile = %v, %v; want an error", k, err)
			}
			k, created, err := LoadOrCreateFile(path)
			if err == nil || k != nil || created {
				t.Fatalf("LoadOrCreateFile = %v, %v, %v; want an error", k, created, err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file and say %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), string(kb[:8])) {
				t.Errorf("error %q contains key bytes", err)
			}
			after, _ := os.ReadFile(path)
			if !bytes.Equal(before, after) {
				t.Errorf("the refused file was changed")
			}
		})
	}
}

func writeMode(path string, b []byte, mode os.FileMode) error {
	if err := os.WriteFile(path, b, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode) // WriteFile's mode passes through the umask
}

func TestCreateNoDirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "missing", "root.key")
	if _, _, err := LoadOrCreateFile(path); err == nil {
		t.Fatal("created a key file in a directory that does not exist")
	}
}

// TestCreateLosesRace plays another process that creates the file between
// our check and our link: its key is used, ours is discarded.
func TestCreateLosesRace(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	k, created, err := loadOrCreateFile(path, func(oldname, newname string) error {
		if err := os.WriteFile(newname, testKeyBytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return os.Link(oldname, newname)
	})
	if err != nil || created {
		t.Fatalf("loadOrCreateFile = %v, %v; want loaded", created, err)
	}
	if !sameKey(t, k, mustKey(t, testKeyBytes())) {
		t.Fatal("the other process's key was not the one loaded")
	}
	onlyFile(t, dir, "root.key")
}

// TestCreateWithoutHardLinks plays a filesystem with no hard links.
func TestCreateWithoutHardLinks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	noLink := func(oldname, newname string) error {
		return &os.LinkError{Op: "link", Old: oldname, New: newname, Err: errors.ErrUnsupported}
	}
	k1, created, err := loadOrCreateFile(path, noLink)
	if err != nil || !created {
		t.Fatalf("loadOrCreateFile = %v, %v; want created", created, err)
	}
	onlyFile(t, dir, "root.key")
	k2, created, err := loadOrCreateFile(path, noLink)
	if err != nil || created || !sameKey(t, k1, k2) {
		t.Fatalf("reload = %v, %v", created, err)
	}
}

func TestCreateConcurrent(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "root.key")
	const n = 16
	keys := make([]*Key, n)
	made := make([]bool, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], made[i], errs[i] = LoadOrCreateFile(path) })
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if made[i] {
			creators++
		}
		if !sameKey(t, keys[0], keys[i]) {
			t.Fatalf("callers 0 and %d got different keys", i)
		}
	}
	if creators != 1 {
		t.Fatalf("%d callers report creating the file, want 1", creators)
	}
	onlyFile(t, dir, "root.key")
}
