package kms

import (
	"github.com/kagikms/kagi/internal/awserr"
	"github.com/kagikms/kagi/internal/crypto"
)

// fipsMode is whether kagi runs in FIPS mode (crypto.FIPSMode). Go fixes
// it when the process starts, so it is read once; tests in this package
// may set it.
var fipsMode = crypto.FIPSMode()

// checkFIPS returns the UnsupportedOperationException for the first of
// names (key specs and algorithms, as AWS names them) that FIPS mode
// refuses, or nil. Outside FIPS mode it is always nil.
func checkFIPS(names ...string) error {
	if !fipsMode {
		return nil
	}
	for _, n := range names {
		if why, outside := crypto.OutsideFIPS(n); outside {
			return awserr.New(awserr.UnsupportedOperation, "%s is not available in FIPS mode: %s.", n, why)
		}
	}
	return nil
}

// checkKeyFIPS is checkFIPS for an existing key: a key made before kagi
// ran in FIPS mode whose spec FIPS mode refuses can be described, tagged,
// disabled and scheduled for deletion, but not used and not asked for its
// public key.
func checkKeyFIPS(k *keyRecord) error {
	if !fipsMode {
		return nil
	}
	if why, outside := crypto.OutsideFIPS(k.KeySpec); outside {
		return awserr.New(awserr.UnsupportedOperation, "%s key spec is %s, which is not available in FIPS mode: %s.", k.ARN, k.KeySpec, why)
	}
	return nil
}
