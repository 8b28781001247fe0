package version

import (
	"strings"
	"testing"
)

func TestFIPSLine(t *testing.T) {
	for _, tc := range []struct {
		enabled, enforced bool
		module, gofips    string
		want              string
	}{
		{false, false, "latest", "", "FIPS 140-3 mode: off; Go Cryptographic Module latest"},
		{true, false, "latest", "", "FIPS 140-3 mode: on; Go Cryptographic Module latest"},
		{true, false, "v1.0.0", "v1.0.0-c2097c7c", "FIPS 140-3 mode: on; Go Cryptographic Module v1.0.0 (built with GOFIPS140=v1.0.0-c2097c7c)"},
		{true, false, "v1.26.0", "certified", "FIPS 140-3 mode: on; Go Cryptographic Module v1.26.0 (built with GOFIPS140=certified)"},
		{true, true, "latest", "", "FIPS 140-3 mode: only (non-approved algorithms fail: Go's mode for testing); Go Cryptographic Module latest"},
	} {
		if got := fipsLine(tc.enabled, tc.enforced, tc.module, tc.gofips); got != tc.want {
			t.Errorf("fipsLine(%v, %v, %q, %q) = %q, want %q", tc.enabled, tc.enforced, tc.module, tc.gofips, got, tc.want)
		}
	}
	// This test binary runs without fips140.
	if got := FIPS(); !strings.HasPrefix(got, "FIPS 140-3 mode: off; Go Cryptographic Module ") {
		t.Errorf("FIPS() = %q", got)
	}
}
