// Package audit keeps kagi's audit trail: one CloudTrail-format record per
// request, appended to a hash-chained log in the data directory, with
// signed digest files after CloudTrail's log file integrity validation.
//
// # Files
//
// The log's directory (<data dir>/audit) holds segment files
// seg-<first seq, 20 digits>.jsonl, whose lines form one hash chain (see
// chain.go), and digest files digest-<n, 20 digits>.json with their
// signatures digest-<n>.json.sig (see digest.go). A segment is closed when
// it reaches Options.SegmentSize and whenever a digest is written; a
// digest covers every segment closed since the previous digest, and the
// next segment's header names it. The signing key is not in the directory:
// by default it is audit-signing.key beside it (in the data directory).
//
// # Durability
//
// Append returns once its record is on disk. Concurrent Appends share one
// write and one fsync (group commit): one goroutine writes whatever has
// queued while the previous fsync ran. With Options.SyncInterval set, the
// log is relaxed instead: Append returns once its record is written to the
// operating system, and the file is fsynced every SyncInterval. That
// survives a crash of kagi but not of the machine: a power loss or kernel
// crash loses the records of up to SyncInterval of acknowledged calls.
//
// # Crashes
//
// Like a write-ahead log, Open recovers the end of the last segment: a
// line cut short by a crash (no newline, or not a whole line of the chain)
// was never acknowledged in the default mode, and Open truncates the
// segment to its last whole line, logs what it dropped, and goes on. A bad
// line anywhere else is not a crash's doing; Open refuses the log and
// `kagi audit verify` says what is wrong.
package audit

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// ErrClosed is returned by Append on a closed log.
var ErrClosed = errors.New("audit: log is closed")

// KeyFile is the default signing key's file name, in the parent of the
// log's directory (the data directory).
const KeyFile = "audit-signing.key"

// Defaults of Options.
const (
	DefaultDigestInterval = time.Hour
	DefaultSegmentSize    = 64 << 20
)

// maxBatch bounds the records of one group commit.
const maxBatch = 1024

// Options configures a log; the zero value is the default.
type Options struct {
	// Signer signs the digests (ECDSA P-256 or Ed25519). Nil: the key in
	// KeyFile, created on first use.
	Signer crypto.Signer
	// KeyFile is the PKCS #8 PEM key file used when Signer is nil.
	// Empty: <parent of the log's directory>/audit-signing.key.
	KeyFile string
	// DigestInterval is the time between digests (0: one hour). A digest
	// is written only when records were appended since the last one; Close
	// writes one too.
	DigestInterval time.Duration
	// SegmentSize is the size at which a segment file is closed and a new
	// one begun (0: 64 MiB).
	SegmentSize int64
	// SyncInterval, when positive, relaxes durability: Append returns once
	// the record is written to the OS, and the log is fsynced every
	// SyncInterval. A machine crash loses up to SyncInterval of records
	// whose calls were acknowledged. 0: every Append waits for its fsync.
	SyncInterval time.Duration
	// OnFsync, if set, is told how long each fsync of a segment took
	// (metrics). It runs on the log's writer and must be quick.
	OnFsync func(time.Duration)
	// Logger receives what recovery drops (nil: slog.Default()).
	Logger *slog.Logger
	// Now is the clock of digest times (nil: time.Now).
	Now func() time.Time
}

// Stats is a view of the log's work for metrics.
type Stats struct {
	QueueDepth int           // Appends waiting for their record to be written
	LastFsync  time.Duration // how long the last fsync took
	Fsyncs     uint64        // fsyncs of segment files so far
	Records    uint64        // records appended since Open
	Digests    uint64        // digests written since Open
}

// Log is the append-only audit log in one directory. It is safe for
// concurrent use.
type Log struct {
	dir  string
	opts Options
	key  crypto.Signer
	ki   *keyInfo
	log  *slog.Logger

	mu      sync.RWMutex // guards closed and sends on reqs
	closed  bool
	reqs    chan *request
	ctl     chan chan error // WriteDigest
	stopped chan struct{}
	err     error // the writer's error, once it stops

	queued    atomic.Int64
	lastFsync atomic.Int64
	fsyncs    atomic.Uint64
	records   atomic.Uint64
	digests   atomic.Uint64

	// The writer goroutine's state.
	w writerState
}

type request struct {
	rec  []byte
	done chan error
}

// writerState belongs to the writer goroutine (and to Open before it
// starts).
type writerState struct {
	f         *os.File // the open segment
	name      string
	size      int64
	hash      hash.Hash // of the open segment's bytes so far
	firstSeq  uint64
	records   int
	segPrev   [hashLen]byte // what the open segment's header links to
	prev      [hashLen]byte // the hash of the last line written
	nextSeq   uint64
	dirty     bool       // written but not fsynced (relaxed mode)
	pending   []logFile  // closed segments since the last digest
	lastDig   *digestRef // the last digest, nil before the first
	digestSeq uint64     // its number
	digestEnd time.Time  // its end time (the next one's start)
	broken    error      // a failed write or fsync: the log takes no more
	buf       []byte
}

// Open opens the log in dir with default options.
func Open(dir string) (*Log, error) { return OpenWith(dir, Options{}) }

// OpenWith opens the log in dir, creating dir (mode 0700) and the log if
// they do not exist, and recovers a segment a crash cut short.
func OpenWith(dir string, opts Options) (*Log, error) {
	if opts.DigestInterval <= 0 {
		opts.DigestInterval = DefaultDigestInterval
	}
	if opts.SegmentSize <= 0 {
		opts.SegmentSize = DefaultSegmentSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	l := &Log{dir: dir, opts: opts, log: opts.Logger, reqs: make(chan *request, maxBatch), ctl: make(chan chan error), stopped: make(chan struct{})}
	if l.log == nil {
		l.log = slog.Default()
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("open audit log: %w", err)
	}
	l.key = opts.Signer
	if l.key == nil {
		kf := opts.KeyFile
		if kf == "" {
			kf = filepath.Join(filepath.Dir(filepath.Clean(dir)), KeyFile)
		}
		k, err := LoadOrCreateKey(kf)
		if err != nil {
			return nil, err
		}
		l.key = k
	}
	ki, err := publicKeyInfo(l.key.Public())
	if err != nil {
		return nil, err
	}
	l.ki = ki
	if err := l.recover(); err != nil {
		if l.w.f != nil {
			l.w.f.Close()
		}
		return nil, fmt.Errorf("open audit log %s: %w", dir, err)
	}
	go l.run()
	return l, nil
}

// listing is the segment and digest files of a directory, in order.
type listing struct {
	segs    []string
	digests []string
	others  []string
}

func listNames(names []string) *listing {
	ls := &listing{}
	for _, n := range names {
		switch {
		case isName(n, segPrefix, segSuffix):
			ls.segs = append(ls.segs, n)
		case isName(n, digestPrefix, digestSuffix):
			ls.digests = append(ls.digests, n)
		default:
			ls.others = append(ls.others, n)
		}
	}
	slices.Sort(ls.segs)
	slices.Sort(ls.digests)
	return ls
}

func isName(n, prefix, suffix string) bool { _, ok := parseName(n, prefix, suffix); return ok }

func readDirNames(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(ents))
	for i, e := range ents {
		names[i] = e.Name()
	}
	return names, nil
}

// recover finds where the log ends: after the last digest, in the
// segments it does not cover, whose ends it repairs as a WAL would.
func (l *Log) recover() error {
	w := &l.w
	w.nextSeq = 1
	w.digestEnd = l.opts.Now()
	names, err := readDirNames(l.dir)
	if err != nil {
		return err
	}
	ls := listNames(names)
	covered := ""
	if n := len(ls.digests); n > 0 {
		name := ls.digests[n-1]
		body, err := os.ReadFile(filepath.Join(l.dir, name))
		if err != nil {
			return err
		}
		d, err := parseDigest(body)
		if err != nil {
			return fmt.Errorf("%s: %w (kagi audit verify tells more)", name, err)
		}
		sig, err := os.ReadFile(filepath.Join(l.dir, name+sigSuffix))
		if err != nil {
			return err
		}
		h := sha256.Sum256(body)
		w.lastDig = &digestRef{File: name, HashValue: hex.EncodeToString(h[:]), Signature: string(bytes.TrimSpace(sig))}
		w.digestSeq = d.Sequence
		if t, err := time.Parse(timeFormat, d.EndTime); err == nil {
			w.digestEnd = t
		}
		if k := len(d.LogFiles); k > 0 {
			last := d.LogFiles[k-1]
			covered = last.File
			p, err := hex.DecodeString(last.LastLineHash)
			if err != nil || len(p) != hashLen {
				return fmt.Errorf("%s: bad lastLineHash", name)
			}
			copy(w.prev[:], p)
			w.nextSeq = last.FirstSeq + uint64(last.Records)
		}
	}
	var tail []string
	for _, s := range ls.segs {
		if s > covered {
			tail = append(tail, s)
		}
	}
	for i, name := range tail {
		path := filepath.Join(l.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sc, err := scanSegment(data, name, w.prev, w.nextSeq, nil)
		if err != nil {
			return err
		}
		last := i == len(tail)-1
		if !last && (sc.torn || sc.empty || len(sc.problems) > 0) {
			return fmt.Errorf("segment %s is damaged (%s); kagi audit verify tells more", name, firstOf(sc.problems, "a partial last line"))
		}
		if last && (sc.firstBad >= 0 && !sc.badParse) {
			return fmt.Errorf("segment %s is damaged (%s); kagi audit verify tells more", name, sc.problems[0])
		}
		if last && (sc.torn || sc.firstBad >= 0) {
			// Only the last batch can be partly on disk: drop from the
			// first bad line on, as a WAL drops a torn tail.
			cut := sc.good
			dropped := len(data) - cut
			l.log.Warn("audit log: dropped the end of the last segment, which a crash cut short", "segment", name, "bytes", dropped, "problem", firstOf(sc.problems, "a partial last line"))
			if err := os.Truncate(path, int64(cut)); err != nil {
				return err
			}
			data = data[:cut]
			if sc, err = scanSegment(data, name, w.prev, w.nextSeq, nil); err != nil {
				return err
			}
		}
		if sc.header != nil && !sameRef(sc.header.PreviousDigest, w.lastDig) {
			return fmt.Errorf("segment %s names another digest than the last one; kagi audit verify tells more", name)
		}
		if !last {
			h := sha256.Sum256(data)
			w.pending = append(w.pending, segmentFile(name, h[:], sc))
			w.prev, w.nextSeq = sc.lastHash, sc.nextSeq
			continue
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		w.f, w.name, w.size, w.hash = f, name, int64(len(data)), sha256.New()
		w.hash.Write(data)
		w.firstSeq, w.records, w.segPrev = sc.firstSeq, sc.records, sc.prevHash
		w.prev, w.nextSeq = sc.lastHash, sc.nextSeq
		if len(data) == 0 {
			// The header itself was cut short: write it again.
			if err := l.writeHeader(); err != nil {
				return err
			}
		}
	}
	if w.f == nil {
		return l.newSegment()
	}
	return nil
}

func firstOf(s []string, def string) string {
	if len(s) > 0 {
		return s[0]
	}
	return def
}

func sameRef(a, b *digestRef) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func segmentFile(name string, sum []byte, sc *segScan) logFile {
	return logFile{
		File: name, HashValue: hex.EncodeToString(sum), HashAlgorithm: hashAlgorithm,
		FirstSeq: sc.firstSeq, Records: sc.records,
		PrevLineHash: hex.EncodeToString(sc.prevHash[:]), LastLineHash: hex.EncodeToString(sc.lastHash[:]),
	}
}

// newSegment creates the next segment and writes its header, durably.
func (l *Log) newSegment() error {
	w := &l.w
	name := segName(w.nextSeq)
	f, err := os.OpenFile(filepath.Join(l.dir, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("new audit segment: %w", err)
	}
	w.f, w.name, w.size, w.hash = f, name, 0, sha256.New()
	w.firstSeq, w.records, w.segPrev = w.nextSeq, 0, w.prev
	if err := l.writeHeader(); err != nil {
		return err
	}
	return syncDir(l.dir)
}

func (l *Log) writeHeader() error {
	w := &l.w
	b := headerLine(&w.prev, w.name, w.lastDig)
	if _, err := w.f.Write(b); err != nil {
		return fmt.Errorf("audit segment header: %w", err)
	}
	w.hash.Write(b)
	w.size += int64(len(b))
	w.prev = sha256.Sum256(b[:len(b)-1])
	return l.fsync()
}

func (l *Log) fsync() error {
	t := time.Now()
	if err := l.w.f.Sync(); err != nil {
		return fmt.Errorf("fsync audit segment: %w", err)
	}
	d := time.Since(t)
	l.lastFsync.Store(int64(d))
	l.fsyncs.Add(1)
	if l.opts.OnFsync != nil {
		l.opts.OnFsync(d)
	}
	l.w.dirty = false
	return nil
}

// closeSegment fsyncs and closes the open segment and queues it for the
// next digest.
func (l *Log) closeSegment() error {
	w := &l.w
	if err := l.fsync(); err != nil {
		return err
	}
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close audit segment: %w", err)
	}
	w.pending = append(w.pending, logFile{
		File: w.name, HashValue: hex.EncodeToString(w.hash.Sum(nil)), HashAlgorithm: hashAlgorithm,
		FirstSeq: w.firstSeq, Records: w.records,
		PrevLineHash: hex.EncodeToString(w.segPrev[:]), LastLineHash: hex.EncodeToString(w.prev[:]),
	})
	w.f = nil
	return nil
}

// writeBatch appends the records of batch in one write and, in durable
// mode, one fsync.
func (l *Log) writeBatch(batch []*request) error {
	w := &l.w
	if w.broken != nil {
		return w.broken
	}
	if w.f == nil {
		if err := l.newSegment(); err != nil {
			w.broken = err
			return err
		}
	}
	buf := w.buf[:0]
	for _, r := range batch {
		start := len(buf)
		buf = appendRecordLine(buf, &w.prev, w.nextSeq, r.rec)
		w.prev = sha256.Sum256(buf[start : len(buf)-1])
		w.nextSeq++
	}
	w.buf = buf
	if _, err := w.f.Write(buf); err != nil {
		w.broken = fmt.Errorf("append audit records: %w", err)
		return w.broken
	}
	w.hash.Write(buf)
	w.size += int64(len(buf))
	w.records += len(batch)
	l.records.Add(uint64(len(batch)))
	if l.opts.SyncInterval > 0 {
		w.dirty = true
	} else if err := l.fsync(); err != nil {
		// After a failed fsync the file's state is unknown (the kernel
		// may have dropped the dirty pages): take no more records.
		w.broken = err
		return err
	}
	if w.size >= l.opts.SegmentSize {
		if err := l.closeSegment(); err != nil {
			w.broken = err
			return err
		}
	}
	return nil
}

// writeDigest closes the open segment and writes a digest covering every
// segment since the last digest, then begins the next segment, whose
// header names the digest. With nothing new, it writes nothing.
func (l *Log) writeDigest() error {
	w := &l.w
	if w.broken != nil {
		return w.broken
	}
	if len(w.pending) == 0 && (w.f == nil || w.records == 0) {
		return nil
	}
	if w.f != nil {
		if err := l.closeSegment(); err != nil {
			w.broken = err
			return err
		}
	}
	now := l.opts.Now()
	seq := w.digestSeq + 1
	body, sig, err := newDigest(l.key, l.ki, seq, w.lastDig, w.digestEnd, now, w.pending)
	if err != nil {
		return err
	}
	name := digestName(seq)
	// The signature first: a digest is never on disk without it.
	if err := writeFileSync(filepath.Join(l.dir, name+sigSuffix), sig); err != nil {
		w.broken = fmt.Errorf("write audit digest: %w", err)
		return w.broken
	}
	if err := writeFileSync(filepath.Join(l.dir, name), body); err != nil {
		w.broken = fmt.Errorf("write audit digest: %w", err)
		return w.broken
	}
	if err := syncDir(l.dir); err != nil {
		w.broken = fmt.Errorf("write audit digest: %w", err)
		return w.broken
	}
	h := sha256.Sum256(body)
	w.lastDig = &digestRef{File: name, HashValue: hex.EncodeToString(h[:]), Signature: string(bytes.TrimSpace(sig))}
	w.digestSeq, w.digestEnd, w.pending = seq, now, nil
	l.digests.Add(1)
	if err := l.newSegment(); err != nil {
		w.broken = err
		return err
	}
	return nil
}

// run is the writer goroutine: it takes the queued records in batches and
// writes digests on time.
func (l *Log) run() {
	defer close(l.stopped)
	digestTick := time.NewTicker(l.opts.DigestInterval)
	defer digestTick.Stop()
	var syncTick <-chan time.Time
	if l.opts.SyncInterval > 0 {
		t := time.NewTicker(l.opts.SyncInterval)
		defer t.Stop()
		syncTick = t.C
	}
	batch := make([]*request, 0, maxBatch)
	for {
		select {
		case r, ok := <-l.reqs:
			if !ok {
				l.err = l.finish()
				return
			}
			batch = append(batch[:0], r)
		drain:
			for len(batch) < maxBatch {
				select {
				case r, ok := <-l.reqs:
					if !ok {
						break drain
					}
					batch = append(batch, r)
				default:
					break drain
				}
			}
			err := l.writeBatch(batch)
			for _, r := range batch {
				r.done <- err
			}
			l.queued.Add(-int64(len(batch)))
			clear(batch)
		case <-digestTick.C:
			if err := l.writeDigest(); err != nil {
				l.log.Error("audit log: digest", "err", err)
			}
		case done := <-l.ctl:
			done <- l.writeDigest()
		case <-syncTick:
			if l.w.dirty && l.w.broken == nil {
				if err := l.fsync(); err != nil {
					l.w.broken = err
					l.log.Error("audit log: fsync", "err", err)
				}
			}
		}
	}
}

// finish writes what is queued, the last digest, and closes the segment.
func (l *Log) finish() error {
	err := l.writeDigest()
	if l.w.f != nil {
		if l.w.dirty && l.w.broken == nil {
			err = errors.Join(err, l.fsync())
		}
		err = errors.Join(err, l.w.f.Close())
		l.w.f = nil
	}
	return err
}

// Append adds one record (a JSON object on one line) to the log and
// returns once it is on disk (in relaxed mode: once it is written to the
// OS). Leading and trailing white space is not kept.
func (l *Log) Append(ctx context.Context, record []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	record = bytes.TrimSpace(record)
	if len(record) == 0 || record[0] != '{' || bytes.IndexByte(record, '\n') >= 0 || len(record) > maxLine-200 || !json.Valid(record) {
		return errors.New("audit: a record is one line of JSON, an object")
	}
	r := &request{rec: record, done: make(chan error, 1)}
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	l.queued.Add(1)
	l.reqs <- r
	l.mu.RUnlock()
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The record may still be written; the call is not acknowledged.
		return ctx.Err()
	}
}

// WriteDigest writes a digest now, covering every record appended so far
// (none when nothing is new), as the interval would.
func (l *Log) WriteDigest(ctx context.Context) error {
	done := make(chan error, 1)
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	select {
	case l.ctl <- done:
	case <-ctx.Done():
		l.mu.RUnlock()
		return ctx.Err()
	}
	l.mu.RUnlock()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stats reports the log's queue and fsyncs.
func (l *Log) Stats() Stats {
	return Stats{
		QueueDepth: int(l.queued.Load()),
		LastFsync:  time.Duration(l.lastFsync.Load()),
		Fsyncs:     l.fsyncs.Load(),
		Records:    l.records.Load(),
		Digests:    l.digests.Load(),
	}
}

// PublicKey is the public key of the digests' signer.
func (l *Log) PublicKey() crypto.PublicKey { return l.key.Public() }

// Close writes the queued records and a last digest, and closes the log;
// later Appends return ErrClosed.
func (l *Log) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	l.closed = true
	close(l.reqs)
	l.mu.Unlock()
	<-l.stopped
	if l.err != nil {
		return fmt.Errorf("close audit log: %w", l.err)
	}
	return nil
}

// Read calls fn with every record of the log in dir, oldest first, until fn
// returns an error. The slice is fn's to keep. A partial last line (a
// write in progress, or cut short by a crash) is not a record and is
// skipped; Read does not check the digests (Verify does).
func Read(dir string, fn func(record []byte) error) error {
	names, err := readDirNames(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read audit log: %w", err)
	}
	segs := listNames(names).segs
	for i, name := range segs {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		if i == len(segs)-1 {
			// Only whole lines: the writer may be mid-write.
			data = data[:bytes.LastIndexByte(data, '\n')+1]
		}
		if err := readSegment(data, name, fn); err != nil {
			return err
		}
	}
	return nil
}

func readSegment(data []byte, name string, fn func([]byte) error) error {
	n := 0
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			i = len(data)
		}
		n++
		ln, err := parseLine(data[:i])
		if err != nil {
			return fmt.Errorf("read audit log: %s line %d: %w", name, n, err)
		}
		if !ln.isHeader() {
			if err := fn(bytes.Clone(ln.Record)); err != nil {
				return err
			}
		}
		data = data[min(i+1, len(data)):]
	}
	return nil
}
