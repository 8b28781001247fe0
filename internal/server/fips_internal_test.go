package server

import (
	"strings"
	"testing"
)

func TestCheckFIPS(t *testing.T) {
	for _, tc := range []struct {
		require, enabled bool
		wantErr          string // "" for none
	}{
		{false, false, ""},
		{false, true, ""},
		{true, true, ""},
		{true, false, "--fips: Go's FIPS 140-3 mode is off"},
	} {
		err := checkFIPS(tc.require, tc.enabled)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("checkFIPS(%v, %v) = %v, want %q", tc.require, tc.enabled, err, tc.wantErr)
		}
	}
}
