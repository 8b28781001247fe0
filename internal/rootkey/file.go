package rootkey

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
)

// LoadOrCreateFile loads the root key from the file at path, creating the
// file with 32 random bytes if it does not exist. created reports whether it
// was created; a key file keeps the root key in plaintext on disk, so it is
// for development, and the caller should say so.
//
// The file is created atomically, mode 0600: the key is written to a
// temporary file in the same directory and synced, then linked into place
// (which never replaces an existing file), and the directory is synced. If
// another process creates the file first, its key is loaded instead.
//
// A file that is not a regular file, is not exactly 32 bytes, or is
// readable or writable by group or others is refused.
func LoadOrCreateFile(path string) (k *Key, created bool, err error) {
	return loadOrCreateFile(path, os.Link)
}

// LoadFile loads the root key from the existing file at path, with the
// checks of LoadOrCreateFile; it never creates one. Its error wraps
// fs.ErrNotExist when there is no file, so that a tool that must not start
// a new deployment (kagi admin) can say so.
func LoadFile(path string) (*Key, error) {
	return loadFile(path)
}

// loadOrCreateFile takes link as a parameter so that tests can play a
// filesystem without hard links.
func loadOrCreateFile(path string, link func(oldname, newname string) error) (*Key, bool, error) {
	k, err := loadFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	created, err := createFile(path, link)
	if err != nil {
		return nil, false, err
	}
	// Read back what is on disk now: ours, or another process's if it won
	// the race to create the file.
	k, err = loadFile(path)
	if err != nil {
		return nil, false, err
	}
	return k, created, nil
}

// loadFile reads and checks an existing key file. Its errors wrap
// fs.ErrNotExist when the file does not exist.
func loadFile(path string) (*Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rootkey: open key file: %w", err)
	}
	defer f.Close()
	// Check the file we opened, not the path, so nothing can swap it
	// between the check and the read.
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("rootkey: stat key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("rootkey: key file %s is not a regular file (mode %s)", path, fi.Mode())
	}
	// Windows has no Unix permission bits to check (os reports 0666 or 0444).
	if perm := fi.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("rootkey: key file %s has mode %04o: it must not be accessible to group or others (chmod 600 %s)", path, perm, path)
	}
	if fi.Size() != Size {
		return nil, fmt.Errorf("rootkey: key file %s is %d bytes, want exactly %d", path, fi.Size(), Size)
	}
	// Read one byte more than a key, in case the file grew since Stat.
	var buf [Size + 1]byte
	defer clear(buf[:])
	n, err := io.ReadFull(f, buf[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("rootkey: read key file %s: %w", path, err)
	}
	if n != Size {
		return nil, fmt.Errorf("rootkey: key file %s is not %d bytes", path, Size)
	}
	return FromBytes(buf[:Size])
}

// createFile writes a new random key to path unless a file is already
// there. It reports false if another process created the file first.
func createFile(path string, link func(oldname, newname string) error) (bool, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*") // mode 0600
	if err != nil {
		return false, fmt.Errorf("rootkey: create key file: %w", err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // on failure, or if another process won

	var key [Size]byte
	defer clear(key[:])
	_, _ = rand.Read(key[:]) // never fails; the runtime aborts if the OS cannot supply entropy
	if _, err := tmp.Write(key[:]); err != nil {
		tmp.Close()
		return false, fmt.Errorf("rootkey: write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, fmt.Errorf("rootkey: sync key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return false, fmt.Errorf("rootkey: close key file: %w", err)
	}

	// A hard link is the portable atomic rename that refuses to replace an
	// existing file: if two processes start at once, exactly one key wins
	// and both use it.
	created := true
	if err := link(tmpName, path); err != nil {
		switch {
		case errors.Is(err, fs.ErrExist):
			created = false
		case linkUnsupported(err):
			// Some filesystems (FAT, some network mounts) have no hard
			// links. Rename replaces silently, so check first; the window
			// between the check and the rename is the price of such a
			// filesystem.
			if _, serr := os.Lstat(path); serr == nil {
				created = false
				break
			} else if !errors.Is(serr, fs.ErrNotExist) {
				return false, fmt.Errorf("rootkey: create key file: %w", serr)
			}
			if err := os.Rename(tmpName, path); err != nil {
				return false, fmt.Errorf("rootkey: create key file: %w", err)
			}
		default:
			return false, fmt.Errorf("rootkey: create key file: %w", err)
		}
	}
	if created {
		// Drop the temporary name before the directory sync, so that a
		// crash cannot leave a second copy of the key behind.
		if err := os.Remove(tmpName); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return false, fmt.Errorf("rootkey: remove temporary key file: %w", err)
		}
		if err := syncDir(dir); err != nil {
			return false, fmt.Errorf("rootkey: sync key file directory: %w", err)
		}
	}
	return created, nil
}

// linkUnsupported reports whether a link error means the filesystem has no
// hard links (ENOTSUP, EOPNOTSUPP, ENOSYS; EPERM on Linux). EACCES also
// matches fs.ErrPermission, but the temporary file was just created in the
// same directory, and if writing there is denied the rename fails too.
func linkUnsupported(err error) bool {
	return errors.Is(err, errors.ErrUnsupported) || errors.Is(err, fs.ErrPermission)
}

func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // directories cannot be opened for sync there; NTFS journals the rename
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
