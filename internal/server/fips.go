package server

import (
	"crypto/fips140"
	"errors"
	"log/slog"
)

// checkFIPS decides whether kagi serve may start as FIPS mode stands.
// kagi's FIPS mode is Go's (crypto/fips140.Enabled), fixed when the
// process starts: GODEBUG=fips140=on, or a binary built with GOFIPS140,
// turns it on, and no flag can afterwards. requireFIPS (--fips) makes a
// process without it refuse to start, so a deployment that must run in
// FIPS mode cannot come up without it by mistake.
//
// GODEBUG=fips140=only is refused: it makes Go fail every non-approved
// call, and kagi's ciphertexts are sealed with AES-GCM under an IV kagi
// draws (crypto/rand) rather than one the module generates, which Go
// counts as non-approved, so Encrypt and the root key would fail. Go
// documents "only" as a testing aid, not for production.
func checkFIPS(requireFIPS bool, enabled, enforced bool) error {
	switch {
	case enforced:
		return errors.New("GODEBUG=fips140=only is not supported: kagi's AES-GCM ciphertexts use IVs kagi draws, which that mode refuses; use GODEBUG=fips140=on")
	case requireFIPS && !enabled:
		return errors.New("--fips: Go's FIPS 140-3 mode is off; start kagi with GODEBUG=fips140=on or build it with GOFIPS140=v1.0.0 (or another module version)")
	}
	return nil
}

// startFIPS applies checkFIPS to this process and logs FIPS mode when on.
func startFIPS(requireFIPS bool, log *slog.Logger) error {
	if err := checkFIPS(requireFIPS, fips140.Enabled(), fips140.Enforced()); err != nil {
		return err
	}
	if fips140.Enabled() {
		log.Info("FIPS mode: running on Go's FIPS 140-3 module; key specs and algorithms outside it are refused",
			"module", fips140.Version())
	}
	return nil
}
