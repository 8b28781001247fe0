package server

import (
	"strings"
	"testing"
)

func TestCheckFIPS(t *testing.T) {
	for _, tc := range []struct {
		require, enabled, enforced bool
		wantErr                    string // "" for none
	}{
		{false, false, false, ""},
		{false, true, false, ""},
		{true, true, false, ""},
		{true, false, false, "--fips: Go's FIPS 140-3 mode is off"},
		{false, true, true, "GODEBUG=fips140=only is not supported"},
		{true, true, true, "GODEBUG=fips140=only is not supported"},
	} {
		err := checkFIPS(tc.require, tc.enabled, tc.enforced)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("checkFIPS(%v, %v, %v) = %v, want %q", tc.require, tc.enabled, tc.enforced, err, tc.wantErr)
		}
	}
}
