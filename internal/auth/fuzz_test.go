package auth

import (
	"context"
	"encoding/hex"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kagikms/kagi/internal/awserr"
)

// The forms a parsed header promises, written independently of the parser.
var (
	reAccessKeyID = regexp.MustCompile(`^\w{1,128}$`)
	reScopeDate   = regexp.MustCompile(`^\d{8}$`)
	reName        = regexp.MustCompile(`^[a-z0-9-]{1,128}$`)
	reHeaderName  = regexp.MustCompile("^[a-z0-9!#$%&'*+.^_`|~-]+$")
)

// FuzzParseAuthorization checks that the parser never panics, fails only
// with AWS's exceptions, and that whatever it accepts is well-formed, comes
// from the input, and survives a round trip through String.
func FuzzParseAuthorization(f *testing.F) {
	f.Add(authHeader(okCred, okSigned, okSig))
	f.Fuzz(func(t *testing.T, h string) {
		a, err := ParseAuthorization(h)
		if err != nil {
			e, ok := err.(*awserr.Error)
			if !ok {
				t.Fatalf("error %v is a %T, not an *awserr.Error", err, err)
			}
			switch e.Code {
			case awserr.IncompleteSignature, awserr.InvalidSignature, awserr.UnrecognizedClient:
			default:
				t.Fatalf("code %s", e.Code)
			}
			if e.Message == "" {
				t.Fatal("empty message")
			}
			for _, c := range []byte(e.Message) {
				if c < 0x20 || c > 0x7e {
					t.Fatalf("message %q has a non-printable byte", e.Message)
				}
			}
			if !reflect.DeepEqual(a, Authorization{}) {
				t.Fatalf("got %+v with the error", a)
			}
			return
		}

		if !reAccessKeyID.MatchString(a.AccessKeyID) {
			t.Errorf("AccessKeyID %q", a.AccessKeyID)
		}
		if _, err := time.Parse("20060102", a.Date); err != nil || !reScopeDate.MatchString(a.Date) {
			t.Errorf("Date %q", a.Date)
		}
		if !reName.MatchString(a.Region) || !reName.MatchString(a.Service) {
			t.Errorf("Region %q, Service %q", a.Region, a.Service)
		}
		if len(a.SignedHeaders) == 0 || len(a.SignedHeaders) > maxSignedHeaders {
			t.Errorf("%d signed headers", len(a.SignedHeaders))
		}
		for _, name := range a.SignedHeaders {
			if !reHeaderName.MatchString(name) {
				t.Errorf("signed header %q", name)
			}
		}
		if len(a.Signature) != 32 {
			t.Fatalf("len(Signature) = %d", len(a.Signature))
		}
		if !strings.HasPrefix(strings.TrimLeft(h, " \t"), "AWS4-HMAC-SHA256") {
			t.Errorf("accepted %q, which is not AWS4-HMAC-SHA256", h)
		}
		if scope := a.AccessKeyID + "/" + a.Date + "/" + a.Region + "/" + a.Service + "/aws4_request"; !strings.Contains(h, "Credential="+scope) {
			t.Errorf("credential %q is not in the header", scope)
		}
		if !strings.Contains(h, "SignedHeaders="+strings.Join(a.SignedHeaders, ";")) {
			t.Errorf("signed headers %q are not in the header", a.SignedHeaders)
		}
		if !strings.Contains(strings.ToLower(h), "signature="+hex.EncodeToString(a.Signature)) {
			t.Errorf("signature %x is not in the header", a.Signature)
		}

		b, err := ParseAuthorization(a.String())
		if err != nil {
			t.Fatalf("the header's own String %q does not parse: %v", a.String(), err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip: %+v became %+v", a, b)
		}
	})
}

// FuzzVerify feeds arbitrary request parts to Verify: it must never panic,
// never fail with anything but an *awserr.Error of the authentication
// exceptions, and accept only requests of the one known key, in time.
func FuzzVerify(f *testing.F) {
	// Seeds: a valid SDK-signed request, and variants of it.
	r, body := call{token: "token"}.sign(f)
	seed := func(method, path, query, authorization, date, host, name, value string, body []byte) {
		f.Add(method, path, query, authorization, date, host, name, value, body)
	}
	h := r.Header
	seed(r.Method, r.URL.Path, r.URL.RawQuery, h.Get("Authorization"), h.Get("X-Amz-Date"), r.Host, "X-Amz-Security-Token", "token", body)
	seed(r.Method, r.URL.Path, r.URL.RawQuery, h.Get("Authorization"), h.Get("X-Amz-Date"), r.Host, "x-amz-security-token", "token", body)
	seed(r.Method, "/a b/%zz", "a=1&b=%20", h.Get("Authorization"), h.Get("X-Amz-Date"), r.Host, "X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD", body)
	seed(r.Method, r.URL.Path, "X-Amz-Algorithm=AWS4-HMAC-SHA256", h.Get("Authorization"), h.Get("X-Amz-Date"), r.Host, "Date", "Mon, 09 Sep 2024 12:00:00 GMT", body)
	seed("GET", "", "", "", "", "", "X-Amz-Security-Token", "t", nil)
	seed("POST", "/", "", "AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=host, Signature=00", "20240909T120000Z", "h", "", "", []byte("{}"))

	store := newStore()
	v := newVerifier(store, testTime)
	secrets := []string{testSecret, signingKeyHex("20240909", testRegion)}

	// The first seed must pass, or the fuzzer would start far from any
	// request Verify accepts.
	if _, err := v.Verify(context.Background(), fuzzRequest(r.Method, r.URL.Path, r.URL.RawQuery, h.Get("Authorization"),
		h.Get("X-Amz-Date"), r.Host, "X-Amz-Security-Token", "token"), body); err != nil {
		f.Fatalf("the valid seed is refused: %v", err)
	}

	f.Fuzz(func(t *testing.T, method, path, query, authorization, date, host, name, value string, body []byte) {
		r := fuzzRequest(method, path, query, authorization, date, host, name, value)
		p, err := v.Verify(context.Background(), r, body)
		if err != nil {
			e, ok := err.(*awserr.Error)
			if !ok {
				t.Fatalf("error %v is a %T, not an *awserr.Error", err, err)
			}
			if p != nil {
				t.Fatalf("principal %+v with error %v", p, err)
			}
			switch e.Code {
			case awserr.MissingAuthenticationToken, awserr.IncompleteSignature, awserr.InvalidSignature, awserr.UnrecognizedClient:
			default:
				t.Fatalf("code %s: %v", e.Code, e)
			}
			for _, s := range secrets {
				if strings.Contains(e.Error(), s) {
					t.Fatalf("error %q reveals a secret", e.Error())
				}
			}
			return
		}
		if p == nil {
			t.Fatal("no principal and no error")
		}
		if p.AccessKeyID != testAKID || !reflect.DeepEqual(p.Identity, testIdentity) || p.Service != "kms" {
			t.Fatalf("principal %+v", p)
		}
		var reqTime time.Time
		if dates := r.Header["X-Amz-Date"]; len(dates) > 0 {
			if len(dates) != 1 {
				t.Fatalf("accepted a request with X-Amz-Date %q", dates)
			}
			reqTime, err = time.Parse("20060102T150405Z", strings.TrimSpace(dates[0]))
		} else {
			reqTime, err = http.ParseTime(strings.TrimSpace(r.Header.Get("Date")))
		}
		if err != nil || reqTime.Sub(testTime).Abs() > defaultMaxSkew {
			t.Fatalf("accepted a request dated %q (%v)", r.Header, err)
		}
		if auths := r.Header["Authorization"]; len(auths) != 1 || !strings.Contains(auths[0], "/20240909/"+p.Region+"/kms/aws4_request") {
			t.Fatalf("accepted Authorization %q for region %q", auths, p.Region)
		}
	})
}

// fuzzRequest builds a ListKeys request from FuzzVerify's inputs. The
// extra header goes in raw, so that non-canonical and invalid names get in
// too.
func fuzzRequest(method, path, query, authorization, date, host, name, value string) *http.Request {
	r := &http.Request{
		Method: method,
		URL:    &url.URL{Path: path, RawQuery: query},
		Host:   host,
		Header: http.Header{
			"Content-Type": {"application/x-amz-json-1.1"},
			"X-Amz-Target": {"TrentService.ListKeys"},
		},
	}
	if authorization != "" {
		r.Header["Authorization"] = []string{authorization}
	}
	if date != "" {
		r.Header["X-Amz-Date"] = []string{date}
	}
	if name != "" {
		r.Header[name] = append(r.Header[name], value)
	}
	return r
}
