// Package audit keeps kagi's audit trail: one CloudTrail-format record per
// request, appended to a log in the data directory.
//
// This first form is a plain append-only file of JSON lines, fsynced
// before Append returns. The hash chain, signed digests, group commit,
// verification and export replace its insides behind the same API.
package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
)

// recordsFile is the log's file in its directory.
const recordsFile = "records.jsonl"

// ErrClosed is returned by Append on a closed log.
var ErrClosed = errors.New("audit: log is closed")

// Log is the append-only audit log in one directory. It is safe for
// concurrent use.
type Log struct {
	dir string
	mu  sync.Mutex
	f   *os.File // nil once closed
}

// Open opens the log in dir, creating dir (mode 0700) and the log if they
// do not exist.
func Open(dir string) (*Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, recordsFile), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	return &Log{dir: dir, f: f}, nil
}

// Append adds one record (a JSON object, without a newline) to the log and
// returns once it is on disk.
func (l *Log) Append(ctx context.Context, record []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(record) == 0 || bytes.IndexByte(record, '\n') >= 0 {
		return errors.New("audit: a record is one line of JSON")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ErrClosed
	}
	if _, err := l.f.Write(append(record[:len(record):len(record)], '\n')); err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("append audit record: %w", err)
	}
	return nil
}

// Close closes the log; later Appends return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return ErrClosed
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Read calls fn with every record of the log in dir, oldest first, until fn
// returns an error. The slice is fn's to keep.
func Read(dir string, fn func(record []byte) error) error {
	f, err := os.Open(filepath.Join(dir, recordsFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		if err := fn(bytes.Clone(sc.Bytes())); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	return nil
}
