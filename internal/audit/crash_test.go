package audit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// crashChildEnv, when set to a directory, makes the test binary the child
// of TestCrashKill: it appends from several goroutines and prints each
// record once Append has returned, until it is killed.
const crashChildEnv = "KAGI_AUDIT_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func crashChild(dir string) {
	l, err := Open(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; i < 1_000_000; i++ {
				r := fmt.Sprintf(`{"g":%d,"i":%d}`, g, i)
				if err := l.Append(context.Background(), []byte(r)); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				out.WriteString(r + "\n")
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashKill kills a process that appends (SIGKILL, mid-write), and
// finds every record whose Append had returned in the log, the log
// verifying, and the next Open going on where the chain ends.
func TestCrashKill(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "audit")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	acked := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	for len(acked) < 3000 && sc.Scan() {
		acked[sc.Text()] = true
	}
	timer.Stop()
	cmd.Process.Kill()
	cmd.Wait()
	if len(acked) < 3000 {
		t.Fatalf("the child acknowledged %d records before it ended: %s", len(acked), stderr.String())
	}
	got := readAll(t, dir)
	for _, r := range got {
		delete(acked, r)
	}
	if len(acked) > 0 {
		t.Fatalf("%d acknowledged records are not in the log after the kill", len(acked))
	}
	if r := mustVerify(t, dir, nil); !r.OK() || r.Digests != 0 || r.Tail != len(got) {
		t.Fatalf("verify after the kill: %+v", r)
	}
	l, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 1)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	key, err := LoadKey(filepath.Join(filepath.Dir(dir), KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if r := mustVerify(t, dir, key.Public()); !r.OK() || r.Records != len(got)+1 || r.Covered != r.Records {
		t.Fatalf("verify after restart: %+v", r)
	}
	t.Logf("%d records on disk after the kill", len(got))
}

// TestRecoverTail: what a crash can leave at the end of the log is
// reported as a crash's (the log verifies, with a note), and Open drops it
// and goes on; records before it stay.
func TestRecoverTail(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	dir := filepath.Join(t.TempDir(), "audit")
	l, err := OpenWith(dir, Options{Signer: key})
	if err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 0, 4)
	if err := l.WriteDigest(context.Background()); err != nil {
		t.Fatal(err)
	}
	appendN(t, l, 4, 3)
	live := copyDir(t, dir)
	l.Close()
	lastSeg := func(d string) string {
		s := files(t, d, segPrefix, segSuffix)
		return filepath.Join(d, s[len(s)-1])
	}
	add := func(path string, b []byte) {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.Write(b)
		f.Close()
	}
	var zero [hashLen]byte
	tests := []struct {
		name  string
		crash func(d string)
		note  string
	}{
		{"a partial line", func(d string) { add(lastSeg(d), appendRecordLine(nil, &zero, 8, rec(8))[:50]) }, "partial line"},
		{"a block of zeros", func(d string) { add(lastSeg(d), make([]byte, 4096)) }, "partial line"},
		{"zeros and a newline", func(d string) { add(lastSeg(d), append(make([]byte, 100), '\n')) }, "no lines of the log"},
		{"zeros, a newline and a partial line", func(d string) {
			add(lastSeg(d), append(append(make([]byte, 100), '\n'), appendRecordLine(nil, &zero, 8, rec(8))[:50]...))
		}, "no lines of the log"},
		{"a new empty segment", func(d string) { add(filepath.Join(d, segName(8)), nil) }, "is empty"},
		{"a new segment with half its header", func(d string) {
			add(filepath.Join(d, segName(8)), headerLine(&zero, segName(8), nil)[:30])
		}, "partial line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := copyDir(t, live)
			tt.crash(d)
			r := mustVerify(t, d, key.Public())
			if !r.OK() || !strings.Contains(strings.Join(r.Notes, "\n"), tt.note) {
				t.Fatalf("before recovery: %+v", r)
			}
			l, err := OpenWith(d, Options{Signer: key})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			appendN(t, l, 7, 2)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if r := mustVerify(t, d, key.Public()); !r.OK() || r.Records != 9 || r.Covered != 9 {
				t.Fatalf("after recovery: %+v", r)
			}
			got := readAll(t, d)
			for i, g := range got {
				if g != string(rec(i)) {
					t.Fatalf("record %d: %s", i, g)
				}
			}
		})
	}
}
