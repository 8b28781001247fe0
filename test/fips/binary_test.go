package fips

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/testutil"
)

// The kagi binary's tests: GODEBUG is set for each child process, which
// overrides this test binary's own //go:debug default.

const (
	account = "111122223333"
	akid    = "AKIAKAGIFIPSTEST0001"
	secret  = "fips-test-secret-0123456789abcdefghijkl"
)

// kagiCmd is the kagi binary with args, its environment this process's
// with GODEBUG set to godebug and the bootstrap identity.
func kagiCmd(bin, godebug string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "GODEBUG="+godebug,
		"KAGI_ACCOUNT_ID="+account, "KAGI_ROOT_ACCESS_KEY_ID="+akid, "KAGI_ROOT_SECRET_ACCESS_KEY="+secret)
	return cmd
}

type proc struct {
	cmd  *exec.Cmd
	addr string
	log  bytes.Buffer
}

// serve starts `kagi serve` on dataDir and waits until it listens.
func serve(t *testing.T, bin, godebug, dataDir string, extra ...string) *proc {
	t.Helper()
	p := &proc{addr: testutil.FreePort(t)}
	p.cmd = kagiCmd(bin, godebug, append([]string{"serve", "--addr", p.addr, "--data-dir", dataDir}, extra...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.stop(t) })
	if err := testutil.WaitListening(p.addr, 20*time.Second); err != nil {
		t.Fatalf("kagi did not start on %s: %v\n%s", p.addr, err, p.log.String())
	}
	return p
}

// stop ends the server with SIGTERM, as an operator would, and waits.
func (p *proc) stop(t *testing.T) {
	if p.cmd.ProcessState != nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		<-done
		t.Errorf("kagi did not stop on SIGTERM:\n%s", p.log.String())
	}
}

func (p *proc) client(t *testing.T, dataDir string) *kms.Client {
	hc := servertest.HTTPClient(t, filepath.Join(dataDir, "tls", "ca.pem"))
	return servertest.NewClient("https://"+p.addr, hc, "us-east-1", akid, secret)
}

// TestKagiBinaryFIPS: kagi version reports FIPS mode; kagi serve --fips
// refuses to start without it; keys and ciphertexts made outside FIPS mode
// behave as documented once the same data directory is served in FIPS
// mode, and symmetric encryption works under fips140=only.
func TestKagiBinaryFIPS(t *testing.T) {
	bin := testutil.BuildKagi(t)
	ctx := context.Background()

	for _, tc := range []struct{ godebug, want string }{
		{"fips140=off", "\nFIPS 140-3 mode: off; Go Cryptographic Module latest\n"},
		{"fips140=on", "\nFIPS 140-3 mode: on; Go Cryptographic Module latest\n"},
	} {
		out, err := kagiCmd(bin, tc.godebug, "version").CombinedOutput()
		if err != nil || !strings.Contains(string(out), tc.want) {
			t.Errorf("GODEBUG=%s kagi version: %v\n%s\nwant %q", tc.godebug, err, out, tc.want)
		}
	}
	for _, tc := range []struct {
		godebug string
		args    []string
		want    string
	}{
		{"fips140=off", []string{"--fips"}, "--fips: Go's FIPS 140-3 mode is off"},
		{"", []string{"--fips"}, "--fips: Go's FIPS 140-3 mode is off"},
	} {
		args := append([]string{"serve", "--addr", testutil.FreePort(t), "--data-dir", t.TempDir()}, tc.args...)
		out, err := kagiCmd(bin, tc.godebug, args...).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(string(out), tc.want) {
			t.Errorf("GODEBUG=%s kagi serve %v: %v\n%s\nwant exit 1 and %q", tc.godebug, tc.args, err, out, tc.want)
		}
	}

	dataDir := filepath.Join(t.TempDir(), "data")
	p := serve(t, bin, "fips140=off", dataDir)
	c := p.client(t, dataDir)
	k1 := createKey(t, c, types.KeySpecEccSecgP256k1, types.KeyUsageTypeSignVerify)
	sym := createKey(t, c, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	enc := must[*kms.EncryptOutput](t, "Encrypt")(c.Encrypt(ctx, &kms.EncryptInput{KeyId: &sym, Plaintext: []byte("before FIPS")}))
	p.stop(t)

	p = serve(t, bin, "fips140=on", dataDir, "--fips")
	c = p.client(t, dataDir)
	d := must[*kms.DescribeKeyOutput](t, "DescribeKey")(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &k1}))
	if d.KeyMetadata.KeySpec != types.KeySpecEccSecgP256k1 || d.KeyMetadata.KeyState != types.KeyStateEnabled {
		t.Errorf("DescribeKey in FIPS mode: %s %s", d.KeyMetadata.KeySpec, d.KeyMetadata.KeyState)
	}
	_, err := c.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &k1})
	wantFIPSRefusal(t, "GetPublicKey of a secp256k1 key", err)
	_, err = c.Sign(ctx, &kms.SignInput{KeyId: &k1, Message: []byte("m"), SigningAlgorithm: types.SigningAlgorithmSpecEcdsaSha256})
	wantFIPSRefusal(t, "Sign with a secp256k1 key", err)
	// The key can still be retired.
	must[*kms.ScheduleKeyDeletionOutput](t, "ScheduleKeyDeletion")(c.ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: &k1, PendingWindowInDays: ptr(int32(7))}))
	dec := must[*kms.DecryptOutput](t, "Decrypt in FIPS mode")(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}))
	if string(dec.Plaintext) != "before FIPS" {
		t.Errorf("Decrypt in FIPS mode = %q", dec.Plaintext)
	}
	p.stop(t)
	if !strings.Contains(p.log.String(), "FIPS mode: running on Go's FIPS 140-3 module") {
		t.Errorf("kagi serve in FIPS mode did not log it:\n%s", p.log.String())
	}

	// Go's strict mode fails every non-approved call: kagi's symmetric
	// ciphertexts (version 2 blobs, IV drawn by the module) still work,
	// old and new.
	p = serve(t, bin, "fips140=only", dataDir, "--fips")
	c = p.client(t, dataDir)
	dec = must[*kms.DecryptOutput](t, "Decrypt under fips140=only")(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc.CiphertextBlob}))
	if string(dec.Plaintext) != "before FIPS" {
		t.Errorf("Decrypt under fips140=only = %q", dec.Plaintext)
	}
	enc2 := must[*kms.EncryptOutput](t, "Encrypt under fips140=only")(c.Encrypt(ctx, &kms.EncryptInput{KeyId: &sym, Plaintext: []byte("strict")}))
	dec = must[*kms.DecryptOutput](t, "Decrypt under fips140=only")(c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: enc2.CiphertextBlob}))
	if string(dec.Plaintext) != "strict" {
		t.Errorf("round trip under fips140=only = %q", dec.Plaintext)
	}
	must[*kms.GenerateDataKeyPairOutput](t, "GenerateDataKeyPair under fips140=only")(c.GenerateDataKeyPair(ctx, &kms.GenerateDataKeyPairInput{KeyId: &sym, KeyPairSpec: types.DataKeyPairSpecRsa2048}))
	p.stop(t)
	if !strings.Contains(p.log.String(), "GODEBUG=fips140=only") {
		t.Errorf("kagi serve under fips140=only did not warn:\n%s", p.log.String())
	}
}

func ptr[T any](v T) *T { return &v }
