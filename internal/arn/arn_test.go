package arn

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want ARN
	}{
		{"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
			ARN{"aws", "us-east-1", "111122223333", KindKey, "1234abcd-12ab-34cd-56ef-1234567890ab"}},
		{"arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
			ARN{"aws-cn", "cn-north-1", "111122223333", KindKey, "mrk-1234abcd12ab34cd56ef1234567890ab"}},
		{"arn:aws:kms:eu-west-2:111122223333:alias/my/app_key-1:x",
			ARN{"aws", "eu-west-2", "111122223333", KindAlias, "my/app_key-1:x"}},
	}
	for _, tt := range tests {
		got, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if got.String() != tt.in {
			t.Errorf("String() = %q, want %q", got.String(), tt.in)
		}
	}
}

func TestParseInvalid(t *testing.T) {
	for _, in := range []string{
		"",
		"arn",
		"arn:aws:kms:us-east-1:111122223333",
		"arn:aws:s3:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:gcp:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:US-EAST-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms::111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:us-east-1:11112222333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:us-east-1:11112222333a:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:us-east-1:111122223333:key/1234abcd",
		"arn:aws:kms:us-east-1:111122223333:key/",
		"arn:aws:kms:us-east-1:111122223333:alias/",
		"arn:aws:kms:us-east-1:111122223333:alias/bad name",
		"arn:aws:kms:us-east-1:111122223333:grant/abc",
		"arn:aws:kms:us-east-1:111122223333:key",
		"arn:aws:kms:us-east-1:111122223333:alias/" + strings.Repeat("a", 251),
	} {
		if a, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %+v, want error", in, a)
		} else if !errors.Is(err, ErrInvalid) {
			t.Errorf("Parse(%q) error %v does not wrap ErrInvalid", in, err)
		}
	}
}

func TestIsKeyID(t *testing.T) {
	for in, want := range map[string]bool{
		"1234abcd-12ab-34cd-56ef-1234567890ab":  true,
		"mrk-1234abcd12ab34cd56ef1234567890ab":  true,
		"1234abcd-12ab-34cd-56ef-1234567890a":   false,
		"1234abcd_12ab-34cd-56ef-1234567890ab":  false,
		"1234abcd-12ab-34cd-56ef-1234567890ag":  false,
		"mrk-1234abcd12ab34cd56ef1234567890a":   false,
		"mrk-1234abcd-2ab34cd56ef1234567890ab":  false,
		"alias/foo":                             false,
		"":                                      false,
		"1234ABCD-12ab-34cd-56ef-1234567890ab":  false,
		"1234abcd-12ab-34cd-56ef-1234567890abc": false,
	} {
		if got := IsKeyID(in); got != want {
			t.Errorf("IsKeyID(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIsAliasName(t *testing.T) {
	for in, want := range map[string]bool{
		"alias/a":                           true,
		"alias/my-app/prod_key:1":           true,
		"alias/":                            false,
		"alias":                             false,
		"foo/bar":                           false,
		"alias/with space":                  false,
		"alias/é":                           false,
		"alias/" + strings.Repeat("x", 250): true,
		"alias/" + strings.Repeat("x", 251): false,
	} {
		if got := IsAliasName(in); got != want {
			t.Errorf("IsAliasName(%q) = %v, want %v", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
	f.Add("arn:aws:kms:us-east-1:111122223333:alias/x")
	f.Add("arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// Whatever parses formats back to itself and parses again the same.
		if a.String() != s {
			t.Fatalf("String() = %q, input %q", a.String(), s)
		}
		b, err := Parse(a.String())
		if err != nil || a != b {
			t.Fatalf("reparse: %+v %v, want %+v", b, err, a)
		}
		if !IsAccountID(a.Account) || !IsRegion(a.Region) {
			t.Fatalf("accepted bad fields: %+v", a)
		}
	})
}
