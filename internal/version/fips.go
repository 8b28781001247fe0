package version

import (
	"crypto/fips140"
	"runtime/debug"
)

// FIPS describes kagi's FIPS mode in one line: whether Go's FIPS 140-3
// module runs in FIPS 140-3 mode, and which module version is linked in
// ("latest" is the module of the Go release's own tree; a GOFIPS140 build
// names a frozen one, such as v1.0.0, which CMVP certificate #5247 covers).
func FIPS() string {
	return fipsLine(fips140.Enabled(), fips140.Enforced(), fips140.Version(), buildSetting("GOFIPS140"))
}

func fipsLine(enabled, enforced bool, module, gofips string) string {
	s := "FIPS 140-3 mode: off"
	switch {
	case enforced:
		s = "FIPS 140-3 mode: only (non-approved algorithms fail: Go's mode for testing)"
	case enabled:
		s = "FIPS 140-3 mode: on"
	}
	s += "; Go Cryptographic Module " + module
	if gofips != "" && gofips != "off" {
		s += " (built with GOFIPS140=" + gofips + ")"
	}
	return s
}

// buildSetting returns the value of a build setting recorded in the
// binary, or "".
func buildSetting(key string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	for _, kv := range bi.Settings {
		if kv.Key == key {
			return kv.Value
		}
	}
	return ""
}
