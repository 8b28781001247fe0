package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// certCheckInterval is how often, at most, a handshake looks at the
// certificate files for a change.
const certCheckInterval = time.Second

// certReloader serves the certificate and key in a pair of PEM files and
// takes up a new pair without a restart: on Reload (SIGHUP), and when a
// handshake finds that either file changed (size, modification time or
// the file itself: an atomic rename), looked at no more than once every
// certCheckInterval. A new pair that does not load (unparsable, or a key
// that is not the certificate's) is logged as an error and the previous
// certificate stays in use; it is tried again when the files change again.
// So does a certificate outside its validity period, which every client
// would refuse (on start it is only warned about: there is nothing older).
type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	seen    [2]os.FileInfo // the files as they were when last read, good or bad
	checked time.Time      // when a handshake last looked at them
}

// newCertReloader loads the pair, which must be good.
func newCertReloader(certFile, keyFile string, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log, checked: time.Now()}
	if err := r.load(); err != nil {
		return nil, err
	}
	if err := checkValidity(r.cert.Leaf, time.Now()); err != nil {
		log.Warn("serving a TLS certificate that clients will refuse", "cert", certFile, "err", err)
	}
	return r, nil
}

// GetCertificate is tls.Config's: the current certificate, reloaded first
// if the files changed.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if now := time.Now(); now.Sub(r.checked) >= certCheckInterval || now.Before(r.checked) {
		r.checked = now
		if r.changed() {
			r.reload("files changed")
		}
	}
	return r.cert, nil
}

// Reload reads the pair again, whether or not the files changed. On an
// error the previous certificate stays in use.
func (r *certReloader) Reload(reason string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.reload(reason)
}

func (r *certReloader) reload(reason string) error {
	if err := r.load(); err != nil {
		r.log.Error("TLS certificate not reloaded; still serving the previous one", "reason", reason, "err", err)
		return err
	}
	leaf := r.cert.Leaf
	r.log.Info("reloaded the TLS certificate", "reason", reason, "cert", r.certFile,
		"subject", leaf.Subject.String(), "serial", leaf.SerialNumber.Text(16), "not_after", leaf.NotAfter)
	return nil
}

// changed reports whether either file differs from when it was last read.
func (r *certReloader) changed() bool {
	for i, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			// Gone, perhaps for a moment during a replacement: keep
			// serving, and look again later.
			return false
		}
		old := r.seen[i]
		if old == nil || !os.SameFile(old, fi) || old.Size() != fi.Size() || !old.ModTime().Equal(fi.ModTime()) {
			return true
		}
	}
	return false
}

// load reads the pair; on success it becomes the one served. The files'
// state is recorded first either way, so a bad pair is reported once, not
// on every check.
func (r *certReloader) load() error {
	var seen [2]os.FileInfo
	for i, name := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(name)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		seen[i] = fi
	}
	r.seen = seen
	pair, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	if pair.Leaf == nil {
		return errors.New("load TLS certificate: no leaf certificate")
	}
	if r.cert != nil {
		if err := checkValidity(pair.Leaf, time.Now()); err != nil {
			return fmt.Errorf("load TLS certificate %s: %w", r.certFile, err)
		}
	}
	r.cert = &pair
	return nil
}

// checkValidity reports a certificate that is not valid at now.
func checkValidity(c *x509.Certificate, now time.Time) error {
	if now.After(c.NotAfter) {
		return fmt.Errorf("certificate expired at %s", c.NotAfter.UTC().Format(time.RFC3339))
	}
	if now.Before(c.NotBefore) {
		return fmt.Errorf("certificate is not valid before %s", c.NotBefore.UTC().Format(time.RFC3339))
	}
	return nil
}
