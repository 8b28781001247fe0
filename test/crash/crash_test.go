// Package crash checks that nothing kagi acknowledged is lost when its
// process is killed at an arbitrary instant.
package crash

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/testutil"
)

const (
	account = "111122223333"
	akid    = "AKIAKAGICRASHTEST001"
	secret  = "crash-test-secret-0123456789abcdefghij"
)

type proc struct {
	cmd  *exec.Cmd
	addr string
	log  bytes.Buffer
}

func start(t *testing.T, bin, dataDir string) *proc {
	t.Helper()
	p := &proc{addr: testutil.FreePort(t)}
	p.cmd = exec.Command(bin, "serve", "--addr", p.addr, "--data-dir", dataDir, "--log-level", "warn")
	p.cmd.Env = append(os.Environ(), "KAGI_ACCOUNT_ID="+account, "KAGI_ROOT_ACCESS_KEY_ID="+akid, "KAGI_ROOT_SECRET_ACCESS_KEY="+secret)
	p.cmd.Stdout, p.cmd.Stderr = &p.log, &p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := testutil.WaitListening(p.addr, 20*time.Second); err != nil {
		p.cmd.Process.Kill()
		p.cmd.Wait()
		t.Fatalf("kagi did not start on %s: %v\n%s", p.addr, err, p.log.String())
	}
	return p
}

func (p *proc) client(t *testing.T, dataDir string) *kms.Client {
	hc := servertest.HTTPClient(t, filepath.Join(dataDir, "tls", "ca.pem"))
	return servertest.NewClient("https://"+p.addr, hc, "us-east-1", akid, secret)
}

type acked struct {
	keyID      string
	ciphertext []byte
	plaintext  []byte
	context    map[string]string
}

// TestSIGKILLLosesNothingAcknowledged runs CreateKey and Encrypt loops
// against the kagi binary, kills it with SIGKILL mid-stream three times,
// and checks after each restart that every acknowledged key exists and
// every acknowledged ciphertext decrypts to its plaintext.
func TestSIGKILLLosesNothingAcknowledged(t *testing.T) {
	bin := testutil.BuildKagi(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	var (
		mu   sync.Mutex
		keys []string
		cts  []acked
	)
	for round := 0; round < 3; round++ {
		p := start(t, bin, dataDir)
		c := p.client(t, dataDir)
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; i < 10000 && ctx.Err() == nil; i++ {
					k, err := c.CreateKey(ctx, &kms.CreateKeyInput{})
					if err != nil {
						continue // not acknowledged
					}
					mu.Lock()
					keys = append(keys, *k.KeyMetadata.KeyId)
					mu.Unlock()
					pt := make([]byte, 48)
					rand.Read(pt)
					ec := map[string]string{"round": string(rune('0' + round))}
					e, err := c.Encrypt(ctx, &kms.EncryptInput{KeyId: k.KeyMetadata.KeyId, Plaintext: pt, EncryptionContext: ec})
					if err != nil {
						continue
					}
					mu.Lock()
					cts = append(cts, acked{*k.KeyMetadata.KeyId, e.CiphertextBlob, pt, ec})
					mu.Unlock()
				}
			}()
		}
		// Let the loops run, then kill the server mid-stream.
		time.Sleep(time.Duration(700+300*round) * time.Millisecond)
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		p.cmd.Wait()
		cancel()
		wg.Wait()
		mu.Lock()
		t.Logf("round %d: %d keys and %d ciphertexts acknowledged so far", round, len(keys), len(cts))
		mu.Unlock()
	}
	if len(keys) < 20 || len(cts) < 20 {
		t.Fatalf("too little work acknowledged to prove anything: %d keys, %d ciphertexts", len(keys), len(cts))
	}

	p := start(t, bin, dataDir)
	defer func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		p.cmd.Wait()
	}()
	c := p.client(t, dataDir)
	ctx := context.Background()
	for _, id := range keys {
		if _, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &id}); err != nil {
			t.Errorf("acknowledged key %s: %v", id, err)
		}
	}
	for _, a := range cts {
		out, err := c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: a.ciphertext, EncryptionContext: a.context})
		if err != nil {
			t.Errorf("acknowledged ciphertext under %s: %v", a.keyID, err)
			continue
		}
		if !bytes.Equal(out.Plaintext, a.plaintext) || *out.KeyId == "" {
			t.Errorf("ciphertext under %s decrypted to other bytes", a.keyID)
		}
	}
	// Every acknowledged key is listed too (ListKeys pages through them).
	listed := map[string]bool{}
	pg := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range page.Keys {
			listed[*k.KeyId] = true
		}
	}
	for _, id := range keys {
		if !listed[id] {
			t.Errorf("acknowledged key %s is not listed", id)
		}
	}
}
