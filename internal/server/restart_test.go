package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/server/servertest"
	"github.com/kagikms/kagi/internal/testutil"
)

// TestRestartKeepsEverything checks that keys, their states, aliases, tags
// and ciphertexts survive a restart of the server on the same data dir.
func TestRestartKeepsEverything(t *testing.T) {
	env := servertest.Start(t)
	ctx := context.Background()
	k, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("survivor"),
		Tags: []types.Tag{{TagKey: aws.String("team"), TagValue: aws.String("kagi")}}})
	if err != nil {
		t.Fatal(err)
	}
	id := k.KeyMetadata.KeyId
	if _, err := env.KMS.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String("alias/survivor"), TargetKeyId: id}); err != nil {
		t.Fatal(err)
	}
	k2, err := env.KMS.CreateKey(ctx, &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.KMS.DisableKey(ctx, &kms.DisableKeyInput{KeyId: k2.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	pt := []byte("what was encrypted before the restart")
	ec := map[string]string{"restart": "yes"}
	ct, err := env.KMS.Encrypt(ctx, &kms.EncryptInput{KeyId: aws.String("alias/survivor"), Plaintext: pt, EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}

	env.Restart(t)

	d, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("alias/survivor")})
	if err != nil {
		t.Fatal(err)
	}
	if *d.KeyMetadata.KeyId != *id || *d.KeyMetadata.Description != "survivor" || d.KeyMetadata.KeyState != types.KeyStateEnabled {
		t.Errorf("after restart: %+v", d.KeyMetadata)
	}
	d2, err := env.KMS.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k2.KeyMetadata.KeyId})
	if err != nil || d2.KeyMetadata.KeyState != types.KeyStateDisabled {
		t.Errorf("disabled key after restart: %v %v", d2, err)
	}
	tags, err := env.KMS.ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: id})
	if err != nil || len(tags.Tags) != 1 || *tags.Tags[0].TagKey != "team" || *tags.Tags[0].TagValue != "kagi" {
		t.Errorf("tags after restart: %v %v", tags, err)
	}
	out, err := env.KMS.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct.CiphertextBlob, EncryptionContext: ec})
	if err != nil || !bytes.Equal(out.Plaintext, pt) {
		t.Fatalf("decrypt after restart: %v", err)
	}
	keys, err := env.KMS.ListKeys(ctx, &kms.ListKeysInput{})
	if err != nil || len(keys.Keys) != 2 {
		t.Errorf("ListKeys after restart: %v %v", keys, err)
	}
}

// fixedAddrListener reports a non-loopback address without listening on
// one, so the check can be tested without touching any network.
type fixedAddrListener struct{ net.Listener }

func (fixedAddrListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 80} }

func TestInsecureHTTPOnlyOnLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, err = server.Start(context.Background(), fixedAddrListener{ln}, server.Config{DataDir: t.TempDir(), InsecureHTTP: true, Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("Start with --insecure-http on 192.0.2.1 = %v, want a refusal", err)
	}

	// On loopback it serves plain HTTP.
	dir := t.TempDir()
	srv, err := server.Start(context.Background(), ln, server.Config{DataDir: dir, InsecureHTTP: true, Out: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("URL = %s", srv.URL)
	}
	resp, err := http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, server.TLSDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("plain HTTP created TLS files: %v", err)
	}
}

// TestFirstStartWritesCredentials checks the generated bootstrap identity:
// printed once, written 0600 in shared-credentials format, and usable; a
// second start prints nothing new.
func TestFirstStartWritesCredentials(t *testing.T) {
	dir := t.TempDir()
	start := func() (*server.Server, string) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		srv, err := server.Start(context.Background(), ln, server.Config{DataDir: dir, Out: &out})
		if err != nil {
			t.Fatal(err)
		}
		return srv, out.String()
	}
	srv, printed := start()
	path := filepath.Join(dir, server.CredentialsFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("credentials mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	var akid, secret string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " = ")
		switch k {
		case "aws_access_key_id":
			akid = v
		case "aws_secret_access_key":
			secret = v
		}
	}
	if !strings.HasPrefix(string(b), "[default]\n") || akid == "" || secret == "" {
		t.Fatalf("credentials file:\n%s", b)
	}
	if !strings.Contains(printed, akid) || !strings.Contains(printed, secret) {
		t.Errorf("first start did not print the credentials: %q", printed)
	}
	c := servertest.NewClient(srv.URL, servertest.HTTPClient(t, filepath.Join(dir, server.TLSDir, "ca.pem")), "eu-west-1", akid, secret)
	k, err := c.CreateKey(context.Background(), &kms.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(*k.KeyMetadata.Arn, "arn:aws:kms:eu-west-1:"+*k.KeyMetadata.AWSAccountId+":key/") || len(*k.KeyMetadata.AWSAccountId) != 12 {
		t.Errorf("ARN %s", *k.KeyMetadata.Arn)
	}
	srv.Close()

	srv, printed = start()
	defer srv.Close()
	if printed != "" {
		t.Errorf("second start printed %q", printed)
	}
	b2, _ := os.ReadFile(path)
	if !bytes.Equal(b, b2) {
		t.Error("second start rewrote the credentials file")
	}
}

// TestBootstrapIdentityIsIdempotent: the bootstrap variables again are a
// no-op; the same access key id with another secret is refused.
func TestBootstrapIdentityIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	cfg := server.Config{DataDir: dir, Out: io.Discard, AccountID: "123456789012",
		RootAccessKeyID: "AKIABOOTSTRAPTEST001", RootSecretAccessKey: "first-secret-0123456789"}
	for i, secret := range []string{"first-secret-0123456789", "first-secret-0123456789", "other-secret-0123456789"} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		cfg.RootSecretAccessKey = secret
		srv, err := server.Start(context.Background(), ln, cfg)
		if i < 2 {
			if err != nil {
				t.Fatalf("start %d: %v", i, err)
			}
			srv.Close()
			continue
		}
		if err == nil {
			srv.Close()
			t.Fatal("a different secret for the same access key id was accepted")
		}
		ln.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, server.CredentialsFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("given credentials were written to disk: %v", err)
	}
}

// TestListenBindsAfterFilesExist checks that a client that can connect to
// a first-starting kagi can also read the CA and credentials it writes:
// scripts wait for the port, then read DIR/tls/ca.pem.
func TestListenBindsAfterFilesExist(t *testing.T) {
	dir := t.TempDir()
	addr := testutil.FreePort(t)
	type result struct {
		srv *server.Server
		err error
	}
	started := make(chan result, 1)
	go func() {
		srv, err := server.Listen(context.Background(), addr, server.Config{DataDir: dir, Out: io.Discard, Logger: slog.New(slog.DiscardHandler)})
		started <- result{srv, err}
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("kagi did not listen on %s: %v", addr, err)
		}
		time.Sleep(time.Millisecond)
	}
	for _, f := range []string{filepath.Join(dir, "tls", "ca.pem"), filepath.Join(dir, "credentials")} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("port open but %v", err)
		}
	}
	r := <-started
	if r.err != nil {
		t.Fatal(r.err)
	}
	defer r.srv.Close()
	if _, err := server.Listen(context.Background(), "127.0.0.1", server.Config{DataDir: t.TempDir(), Out: io.Discard}); err == nil {
		t.Error("Listen on an address without a port succeeded")
	}
}
