package quota

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/time/rate"
)

func TestClassOf(t *testing.T) {
	t.Parallel()
	ops := []struct {
		op    string
		class Class
		key   bool
	}{
		{"CreateKey", "CreateKey", false},
		{"DescribeKey", "DescribeKey", false},
		{"GetParametersForImport", "GetParametersForImport", false},
		{"GenerateRandom", Symmetric, false},
		{"Encrypt", "", true},
		{"ReEncrypt", "", true},
		{"VerifyMac", "", true},
		{"Decapsulate", "", true},
		{"GenerateDataKeyPair", "", false},
		{"GenerateDataKeyPairWithoutPlaintext", "", false},
		{"NoSuchOperation", "", false},
	}
	for _, tc := range ops {
		if got := ForOperation(tc.op); got != tc.class {
			t.Errorf("ForOperation(%s) = %q, want %q", tc.op, got, tc.class)
		}
		if got := KeyCrypto(tc.op); got != tc.key {
			t.Errorf("KeyCrypto(%s) = %v, want %v", tc.op, got, tc.key)
		}
	}
	specs := map[string]Class{
		"SYMMETRIC_DEFAULT": Symmetric, "HMAC_256": Symmetric, "RSA_2048": RSA, "RSA_4096": RSA,
		"ECC_NIST_P256": ECC, "ECC_SECG_P256K1": ECC, "ECC_NIST_EDWARDS25519": ECC, "SM2": ECC,
		"ML_DSA_65": MLDSA, "ML_KEM_768": MLKEM,
	}
	for spec, want := range specs {
		if got := ForKeySpec(spec); got != want {
			t.Errorf("ForKeySpec(%s) = %q, want %q", spec, got, want)
		}
	}
}

// TestDefaults pins the values AWS documents, so a change to the table is
// a deliberate one.
func TestDefaults(t *testing.T) {
	t.Parallel()
	want := map[Class]rate.Limit{
		Symmetric: 10000, RSA: 1000, ECC: 1000, MLDSA: 1000,
		"CreateKey": 5, "CreateAlias": 5, "CreateGrant": 50, "DescribeKey": 2000,
		"ListKeys": 500, "PutKeyPolicy": 15, "GetParametersForImport": 0.25,
		DataKeyPair("RSA_3072"): 0.5, DataKeyPair("ECC_NIST_P256"): 25,
	}
	r := DefaultRates()
	for c, w := range want {
		if r[c] != w {
			t.Errorf("default %s = %v, want %v", c, r[c], w)
		}
	}
	seen := map[Class]bool{}
	for _, d := range Defaults {
		if seen[d.Class] {
			t.Errorf("%s listed twice", d.Class)
		}
		seen[d.Class] = true
		if !(d.Rate > 0) || d.Source == "" || d.AWS == "" {
			t.Errorf("%+v: want a positive rate, a name and a source", d)
		}
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		class   Class
		want    rate.Limit
		wantErr string
	}{
		{"symmetric=20", Symmetric, 20, ""},
		{" CreateKey = 0.5 ", "CreateKey", 0.5, ""},
		{"rsa=off", RSA, Off, ""},
		{"GenerateDataKeyPair/RSA_2048=3", DataKeyPair("RSA_2048"), 3, ""},
		{"symmetric", "", 0, "want NAME=RATE"},
		{"symmetric=0", "", 0, "not a positive number"},
		{"symmetric=-1", "", 0, "not a positive number"},
		{"symmetric=NaN", "", 0, "not a positive number"},
		{"symmetric=+Inf", "", 0, "not a positive number"},
		{"symmetric=fast", "", 0, "not a positive number"},
		{"Nope=1", "", 0, "no such quota"},
	}
	for _, tc := range tests {
		r := DefaultRates()
		err := r.SetFlag(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("SetFlag(%q) = %v, want an error with %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || r[tc.class] != tc.want {
			t.Errorf("SetFlag(%q): %v, rate %v, want %v", tc.in, err, r[tc.class], tc.want)
		}
	}
	r := DefaultRates()
	if err := r.SetFlag("all=off"); err != nil {
		t.Fatal(err)
	}
	for c, l := range r {
		if l != Off {
			t.Errorf("all=off left %s at %v", c, l)
		}
	}
}

func TestLoadFile(t *testing.T) {
	t.Parallel()
	r := DefaultRates()
	if err := r.LoadFile(filepath.Join("testdata", "quotas.json")); err != nil {
		t.Fatal(err)
	}
	for c, want := range map[Class]rate.Limit{Symmetric: 20, "CreateKey": Off, DataKeyPair("RSA_2048"): 0.5, RSA: 100, "ListKeys": 100} {
		if r[c] != want {
			t.Errorf("%s = %v, want %v", c, r[c], want)
		}
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"bad.json":     `{"symmetric": -3}`,
		"unknown.json": `{"Symetric": 3}`,
		"syntax.json":  `{"symmetric": `,
		"list.json":    `[1,2]`,
	} {
		p := filepath.Join(dir, name)
		writeFile(t, p, body)
		if err := DefaultRates().LoadFile(p); err == nil {
			t.Errorf("%s: loaded, want an error", name)
		}
	}
	if err := DefaultRates().LoadFile(filepath.Join(dir, "missing.json")); err == nil {
		t.Error("a missing file loaded")
	}
}

// TestLimiter checks the buckets: a burst of one second's worth, then
// nothing; accounts, Regions and classes apart; off and unknown classes
// never throttled.
func TestLimiter(t *testing.T) {
	t.Parallel()
	r := Rates{Symmetric: 3, "CreateKey": 1, RSA: Off}
	l := New(r)
	r[Symmetric] = 1000 // New keeps a copy
	for i := range 3 {
		if !l.Allow("111122223333", "us-east-1", Symmetric) {
			t.Fatalf("request %d of a burst of 3 throttled", i+1)
		}
	}
	if l.Allow("111122223333", "us-east-1", Symmetric) {
		t.Error("4th request of a 3/s quota allowed at once")
	}
	if !l.Allow("111122223333", "eu-west-1", Symmetric) || !l.Allow("444455556666", "us-east-1", Symmetric) {
		t.Error("another Region or account shares the bucket")
	}
	if !l.Allow("111122223333", "us-east-1", "CreateKey") || l.Allow("111122223333", "us-east-1", "CreateKey") {
		t.Error("CreateKey at 1/s: want one allowed, then one throttled")
	}
	for range 100 {
		if !l.Allow("111122223333", "us-east-1", RSA) || !l.Allow("111122223333", "us-east-1", "ListKeys") {
			t.Fatal("an off or unset quota throttled")
		}
	}
}

// TestLimiterBounded checks that full buckets are dropped past
// maxBuckets: at a million per second each bucket refills within a
// microsecond of its one request.
func TestLimiterBounded(t *testing.T) {
	t.Parallel()
	l := New(Rates{Symmetric: 1e6})
	for i := range maxBuckets + 10 {
		l.Allow(fmt.Sprint(i), "us-east-1", Symmetric)
	}
	if n := l.n.Load(); n > 1000 {
		t.Errorf("%d buckets kept after the sweep, want the full ones dropped", n)
	}
}

func writeFile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAllow measures one quota check: the bucket of a known account
// (the common case), from parallel goroutines of one account and of many.
// The rate is high enough that nothing is throttled.
func BenchmarkAllow(b *testing.B) {
	b.Run("one-account", func(b *testing.B) {
		l := New(Rates{Symmetric: 1e12})
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if !l.Allow("111122223333", "us-east-1", Symmetric) {
					b.Error("throttled")
					return
				}
			}
		})
	})
	b.Run("1000-accounts", func(b *testing.B) {
		l := New(Rates{Symmetric: 1e12})
		accts := make([]string, 1000)
		for i := range accts {
			accts[i] = fmt.Sprintf("%012d", i)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if !l.Allow(accts[i%len(accts)], "us-east-1", Symmetric) {
					b.Error("throttled")
					return
				}
				i++
			}
		})
	})
}
