//go:build unix

// Package cli_test runs cli_test.sh: a new user's session with kagi and the
// AWS CLI (aws kms ...), against the kagi binary built from this tree.
package cli_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/testutil"
)

func TestAWSCLI(t *testing.T) {
	if _, err := exec.LookPath("aws"); err != nil {
		t.Fatal("the AWS CLI (aws) is not installed; .ci/run installs it")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Fatal("bash is not installed")
	}

	bin := testutil.BuildKagi(t)

	script, err := filepath.Abs("cli_test.sh")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", script, bin)
	cmd.Dir = t.TempDir()
	// The script and the server it starts form their own process group.
	// On timeout the script gets SIGTERM first, so that its trap stops the
	// server and removes its temporary directory; whatever is left of the
	// group after that is killed below.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw

	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			t.Log(sc.Text())
		}
		io.Copy(io.Discard, pr) // a line too long for the scanner
	}()
	err = cmd.Wait()
	pw.Close()
	<-lines
	syscall.Kill(-pgid, syscall.SIGKILL) // leftovers of a killed script, if any

	switch {
	case ctx.Err() != nil:
		t.Fatalf("cli_test.sh did not finish within 5 minutes (%v)", err)
	case err != nil:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("cli_test.sh failed (exit status %d) after %v", ee.ExitCode(), time.Since(start).Round(time.Second))
		}
		t.Fatalf("cli_test.sh: %v", err)
	}
	t.Logf("cli_test.sh passed in %v", time.Since(start).Round(time.Second))
}
