package server

import (
	"crypto/fips140"
	"errors"
	"log/slog"
)

// checkFIPS decides whether kagi serve may start as FIPS mode stands.
// kagi's FIPS mode is Go's (crypto/fips140.Enabled), fixed when the
// process starts: GODEBUG=fips140=on (or =only), or a binary built with
// GOFIPS140, turns it on, and no flag can afterwards. requireFIPS (--fips)
// makes a process without it refuse to start, so a deployment that must
// run in FIPS mode cannot come up without it by mistake.
func checkFIPS(requireFIPS, enabled bool) error {
	if requireFIPS && !enabled {
		return errors.New("--fips: Go's FIPS 140-3 mode is off; start kagi with GODEBUG=fips140=on or build it with GOFIPS140=v1.0.0 (or another module version)")
	}
	return nil
}

// startFIPS applies checkFIPS to this process and logs FIPS mode when on.
func startFIPS(requireFIPS bool, log *slog.Logger) error {
	if err := checkFIPS(requireFIPS, fips140.Enabled()); err != nil {
		return err
	}
	if fips140.Enabled() {
		log.Info("FIPS mode: running on Go's FIPS 140-3 module; key specs and algorithms outside it are refused",
			"module", fips140.Version())
	}
	if fips140.Enforced() {
		// Go documents fips140=only as a best-effort aid for testing and
		// assessment, not for production: a non-approved call anywhere
		// fails or panics.
		log.Warn("GODEBUG=fips140=only: Go fails every non-approved cryptographic call; Go meant this mode for testing, not production")
	}
	return nil
}
