package crypto

import "testing"

// TestOutsideFIPS is the table of what FIPS mode allows: every key spec,
// encryption algorithm and wrapping algorithm kagi implements, and whether
// its implementation is in Go's FIPS 140-3 module.
func TestOutsideFIPS(t *testing.T) {
	inside := []string{
		SpecSymmetric, SpecRSA2048, SpecRSA3072, SpecRSA4096, SpecP256, SpecP384, SpecP521, SpecEd25519,
		SpecMLKEM768, SpecMLKEM1024, SpecHMAC224, SpecHMAC256, SpecHMAC384, SpecHMAC512,
		"RSAES_OAEP_SHA_256", // encryption and wrapping algorithm
	}
	outside := []string{
		SpecSecp256k1, SpecMLDSA44, SpecMLDSA65, SpecMLDSA87, SpecMLKEM512,
		"RSAES_OAEP_SHA_1", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256",
	}
	for _, n := range inside {
		if why, out := OutsideFIPS(n); out {
			t.Errorf("OutsideFIPS(%q) = %q, true; want inside the module", n, why)
		}
	}
	for _, n := range outside {
		if why, out := OutsideFIPS(n); !out || why == "" {
			t.Errorf("OutsideFIPS(%q) = %q, %v; want outside, with a reason", n, why, out)
		}
	}
	// The table holds nothing else: a misspelt name would refuse nothing.
	if len(outsideFIPS) != len(outside) {
		t.Errorf("outsideFIPS has %d names, the test knows %d", len(outsideFIPS), len(outside))
	}
}

// TestFIPSModeIsGo: kagi's FIPS mode is Go's, nothing of its own. (This
// package's tests run without GODEBUG=fips140; test/fips runs with it.)
func TestFIPSModeIsGo(t *testing.T) {
	if FIPSMode() {
		t.Fatal("FIPSMode() is true in a test binary started without fips140")
	}
	if v := FIPSModuleVersion(); v != "latest" {
		t.Errorf("FIPSModuleVersion() = %q, want latest (no GOFIPS140 at build)", v)
	}
}
