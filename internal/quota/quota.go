// Package quota holds AWS KMS's request quotas — which quota each request
// counts against, and the default rates — and a set of token buckets, one
// per account, Region and quota, that enforces them.
//
// AWS counts a request against one quota: a management operation against
// its own (CreateKey: 5 per second), a cryptographic operation against the
// quota its key's type shares with other operations (an Encrypt with an
// RSA key counts against "Cryptographic operations (RSA)"), and
// GenerateDataKeyPair against the quota of the pair's spec. Quotas are per
// account and Region; a cross-account request counts against the caller's
// account.
package quota

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/time/rate"
)

// Class names a request quota: a shared cryptographic quota ("symmetric",
// "rsa", …), a GenerateDataKeyPair spec quota ("GenerateDataKeyPair/RSA_2048")
// or an operation's own quota (its name, "CreateKey").
type Class string

// The shared cryptographic quotas.
const (
	Symmetric Class = "symmetric"
	RSA       Class = "rsa"
	ECC       Class = "ecc"
	MLDSA     Class = "ml-dsa"
	MLKEM     Class = "ml-kem"
)

// DataKeyPair is the quota of GenerateDataKeyPair(WithoutPlaintext) for a
// DataKeyPairSpec.
func DataKeyPair(spec string) Class { return Class("GenerateDataKeyPair/" + spec) }

// Off is the rate of a quota that is not enforced.
const Off = rate.Inf

// Default is one quota's default rate, with where the value comes from.
type Default struct {
	Class  Class
	AWS    string     // the quota's name in AWS's docs and Service Quotas
	Rate   rate.Limit // requests per second
	Source string     // "docs" (AWS's current page), "docs-2023", "inferred"
}

// Defaults are AWS KMS's default request quotas, from the Developer Guide's
// "Request quotas" page (current version where it was readable, else the
// 2023 one); "inferred" marks values for operations that page does not
// list, chosen like their nearest documented neighbour.
//
// Cryptographic operations (symmetric) is 10,000 per second, AWS's
// default outside its largest Regions (20,000 in us-east-2, ap-southeast-1,
// ap-southeast-2, ap-northeast-1, eu-central-1 and eu-west-2; more in
// us-east-1, us-west-2 and eu-west-1). kagi applies one value to every
// Region; set it with --quota symmetric=RATE.
var Defaults = []Default{
	{Symmetric, "Cryptographic operations (symmetric) request rate", 10000, "docs"},
	{RSA, "Cryptographic operations (RSA) request rate", 1000, "docs"},
	{ECC, "Cryptographic operations (ECC) request rate", 1000, "docs"},
	{MLDSA, "Cryptographic operations (ML-DSA) request rate", 1000, "docs"},
	{MLKEM, "Cryptographic operations (ML-KEM) request rate", 1000, "inferred"},

	{DataKeyPair("ECC_NIST_P256"), "GenerateDataKeyPair (ECC_NIST_P256) request rate", 25, "docs-2023"},
	{DataKeyPair("ECC_NIST_P384"), "GenerateDataKeyPair (ECC_NIST_P384) request rate", 10, "docs-2023"},
	{DataKeyPair("ECC_NIST_P521"), "GenerateDataKeyPair (ECC_NIST_P521) request rate", 5, "docs-2023"},
	{DataKeyPair("ECC_SECG_P256K1"), "GenerateDataKeyPair (ECC_SECG_P256K1) request rate", 25, "docs-2023"},
	{DataKeyPair("SM2"), "GenerateDataKeyPair (SM2 — China Regions only) request rate", 25, "docs-2023"},
	{DataKeyPair("RSA_2048"), "GenerateDataKeyPair (RSA_2048) request rate", 1, "docs-2023"},
	{DataKeyPair("RSA_3072"), "GenerateDataKeyPair (RSA_3072) request rate", 0.5, "docs-2023"},
	{DataKeyPair("RSA_4096"), "GenerateDataKeyPair (RSA_4096) request rate", 0.1, "docs-2023"},
	{DataKeyPair("ECC_NIST_EDWARDS25519"), "GenerateDataKeyPair (ECC_NIST_EDWARDS25519) request rate", 25, "inferred"},
	{DataKeyPair("ML_KEM_512"), "GenerateDataKeyPair (ML_KEM_512) request rate", 25, "inferred"},
	{DataKeyPair("ML_KEM_768"), "GenerateDataKeyPair (ML_KEM_768) request rate", 25, "inferred"},
	{DataKeyPair("ML_KEM_1024"), "GenerateDataKeyPair (ML_KEM_1024) request rate", 25, "inferred"},

	op("DescribeKey", 2000, "docs"),
	op("GetPublicKey", 2000, "docs"),
	op("ListResourceTags", 2000, "docs-2023"),
	op("GetKeyPolicy", 1000, "docs-2023"),
	op("GetKeyRotationStatus", 1000, "docs-2023"),
	op("ListAliases", 500, "docs-2023"),
	op("ListKeys", 500, "docs-2023"),
	op("ListGrants", 100, "docs-2023"),
	op("ListKeyPolicies", 100, "docs-2023"),
	op("ListRetirableGrants", 100, "docs-2023"),
	op("ListKeyRotations", 100, "inferred"),
	op("GetKeyLastUsage", 100, "inferred"),
	op("CreateGrant", 50, "docs"),
	op("RetireGrant", 30, "docs-2023"),
	op("RevokeGrant", 30, "docs-2023"),
	op("DeleteAlias", 15, "docs"),
	op("EnableKeyRotation", 15, "docs"),
	op("PutKeyPolicy", 15, "docs"),
	op("ScheduleKeyDeletion", 15, "docs"),
	op("TagResource", 10, "docs-2023"),
	op("CancelKeyDeletion", 5, "docs"),
	op("ConnectCustomKeyStore", 5, "docs-2023"),
	op("CreateAlias", 5, "docs"),
	op("CreateCustomKeyStore", 5, "docs-2023"),
	op("CreateKey", 5, "docs"),
	op("DeleteCustomKeyStore", 5, "docs-2023"),
	op("DeleteImportedKeyMaterial", 5, "docs"),
	op("DescribeCustomKeyStores", 5, "docs-2023"),
	op("DisableKey", 5, "docs"),
	op("DisableKeyRotation", 5, "docs"),
	op("DisconnectCustomKeyStore", 5, "docs-2023"),
	op("EnableKey", 5, "docs"),
	op("ImportKeyMaterial", 5, "docs"),
	op("ReplicateKey", 5, "docs-2023"),
	op("RotateKeyOnDemand", 5, "inferred"),
	op("UntagResource", 5, "docs-2023"),
	op("UpdateAlias", 5, "docs-2023"),
	op("UpdateCustomKeyStore", 5, "docs-2023"),
	op("UpdateKeyDescription", 5, "docs-2023"),
	op("UpdatePrimaryRegion", 5, "docs-2023"),
	op("GetParametersForImport", 0.25, "docs-2023"),
}

func op(name string, r rate.Limit, src string) Default {
	return Default{Class(name), name + " request rate", r, src}
}

// keyCrypto are the operations that count against the shared quota of
// their key's type; GenerateRandom, which has no key, counts against the
// symmetric one.
var keyCrypto = map[string]bool{
	"Encrypt": true, "Decrypt": true, "ReEncrypt": true,
	"GenerateDataKey": true, "GenerateDataKeyWithoutPlaintext": true,
	"GenerateMac": true, "VerifyMac": true, "Sign": true, "Verify": true,
	"DeriveSharedSecret": true, "Encapsulate": true, "Decapsulate": true,
}

// KeyCrypto tells whether an operation counts against the shared quota of
// its key's type (ForKeySpec), known only once the key is resolved.
func KeyCrypto(operation string) bool { return keyCrypto[operation] }

// ForOperation is the quota an operation counts against before its key is
// known: its own, or Symmetric for GenerateRandom. It is "" for the
// operations that count by key type (KeyCrypto) or by data key pair spec
// (GenerateDataKeyPair*), and for operations without a quota.
func ForOperation(operation string) Class {
	if operation == "GenerateRandom" {
		return Symmetric
	}
	if keyCrypto[operation] || strings.HasPrefix(operation, "GenerateDataKeyPair") {
		return ""
	}
	if _, ok := defaultRates[Class(operation)]; ok {
		return Class(operation)
	}
	return ""
}

// ForKeySpec is the shared quota a cryptographic operation with a key of
// this KeySpec counts against. HMAC keys share the symmetric quota.
func ForKeySpec(spec string) Class {
	switch {
	case strings.HasPrefix(spec, "RSA_"):
		return RSA
	case strings.HasPrefix(spec, "ECC_"), spec == "SM2":
		return ECC
	case strings.HasPrefix(spec, "ML_DSA_"):
		return MLDSA
	case strings.HasPrefix(spec, "ML_KEM_"):
		return MLKEM
	}
	return Symmetric // SYMMETRIC_DEFAULT, HMAC_*
}

var defaultRates = func() map[Class]rate.Limit {
	m := make(map[Class]rate.Limit, len(Defaults))
	for _, d := range Defaults {
		m[d.Class] = d.Rate
	}
	return m
}()

// Rates are the rates of the quotas, by class; a class missing from the
// map is not enforced.
type Rates map[Class]rate.Limit

// DefaultRates returns a fresh copy of AWS's default rates.
func DefaultRates() Rates {
	r := make(Rates, len(defaultRates))
	for c, l := range defaultRates {
		r[c] = l
	}
	return r
}

// Set changes one quota. The name is a class ("symmetric", "CreateKey",
// "GenerateDataKeyPair/RSA_2048") or "all"; the value a positive rate in
// requests per second, or "off".
func (r Rates) Set(name, value string) error {
	var l rate.Limit
	if value == "off" {
		l = Off
	} else {
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || !(f > 0) || math.IsInf(f, 0) {
			return fmt.Errorf("quota %s: rate %q is not a positive number of requests per second or \"off\"", name, value)
		}
		l = rate.Limit(f)
	}
	if name == "all" {
		for c := range defaultRates {
			r[c] = l
		}
		return nil
	}
	if _, ok := defaultRates[Class(name)]; !ok {
		return fmt.Errorf("quota %q: no such quota (one of: all, %s)", name, strings.Join(Names(), ", "))
	}
	r[Class(name)] = l
	return nil
}

// SetFlag applies one NAME=RATE setting (kagi serve --quota).
func (r Rates) SetFlag(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("quota %q: want NAME=RATE", s)
	}
	return r.Set(strings.TrimSpace(name), strings.TrimSpace(value))
}

// LoadFile applies the overrides of a JSON file: an object from quota
// name to a rate (a number) or "off". "all" is applied first.
func (r Rates) LoadFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("quota file: %w", err)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("quota file %s: %w", path, err)
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] == "all" || (names[j] != "all" && names[i] < names[j]) })
	for _, name := range names {
		v := strings.TrimSpace(string(m[name]))
		if s, err := strconv.Unquote(v); err == nil {
			v = s
		}
		if err := r.Set(name, v); err != nil {
			return fmt.Errorf("quota file %s: %w", path, err)
		}
	}
	return nil
}

// Names lists the quota names, sorted.
func Names() []string {
	n := make([]string, 0, len(defaultRates))
	for c := range defaultRates {
		n = append(n, string(c))
	}
	sort.Strings(n)
	return n
}

// maxBuckets bounds the token buckets kept; past it, full buckets (which
// are the same as new ones) are dropped.
const maxBuckets = 1 << 16

type bucketKey struct {
	account, region string
	class           Class
}

// Limiter enforces rates with one token bucket per account, Region and
// quota. A bucket holds one second of requests, so a quota of N per second
// admits a burst of N and then N per second. It is safe for concurrent use.
type Limiter struct {
	rates   Rates
	buckets sync.Map // bucketKey → *rate.Limiter
	n       atomic.Int64
	sweep   sync.Mutex
}

// New returns a Limiter that enforces rates (a copy is kept).
func New(rates Rates) *Limiter {
	l := &Limiter{rates: make(Rates, len(rates))}
	for c, r := range rates {
		l.rates[c] = r
	}
	return l
}

// Allow takes one request from the bucket of (account, region, class) and
// tells whether there was one. A class without a rate is always allowed.
func (l *Limiter) Allow(account, region string, class Class) bool {
	r, ok := l.rates[class]
	if !ok || r == Off {
		return true
	}
	k := bucketKey{account, region, class}
	if b, ok := l.buckets.Load(k); ok {
		return b.(*rate.Limiter).Allow()
	}
	b, loaded := l.buckets.LoadOrStore(k, rate.NewLimiter(r, burst(r)))
	if !loaded && l.n.Add(1) > maxBuckets {
		l.dropFull()
	}
	return b.(*rate.Limiter).Allow()
}

func burst(r rate.Limit) int {
	return max(1, int(math.Ceil(float64(r))))
}

// dropFull forgets the buckets that are full: a new bucket starts full, so
// forgetting one changes nothing but memory.
func (l *Limiter) dropFull() {
	if !l.sweep.TryLock() {
		return
	}
	defer l.sweep.Unlock()
	l.buckets.Range(func(k, v any) bool {
		b := v.(*rate.Limiter)
		if b.Tokens() >= float64(b.Burst()) {
			l.buckets.Delete(k)
			l.n.Add(-1)
		}
		return true
	})
}
