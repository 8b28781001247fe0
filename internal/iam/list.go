package iam

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kagikms/kagi/internal/storage"
)

// markerPrefix starts every decoded marker, so that a marker from another
// list or another version is refused rather than misread.
const markerPrefix = "kagi1:"

func encodeMarker(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(markerPrefix + name))
}

func decodeMarker(m string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(m)
	name, ok := strings.CutPrefix(string(b), markerPrefix)
	if err != nil || !ok || name == "" || strings.Contains(name, "/") {
		return "", errValidation("Invalid Marker.")
	}
	return name, nil
}

// page reads up to limit records under prefix that keep accepts, starting
// after marker. It returns the marker of the next page, or "" when no kept
// record is left. Its cost grows with the records it reads, not with all
// records under prefix.
func page[T any](tx storage.Tx, prefix []byte, marker string, limit int, keep func(*T) bool) ([]T, string, error) {
	var after []byte
	if marker != "" {
		name, err := decodeMarker(marker)
		if err != nil {
			return nil, "", err
		}
		after = append(append([]byte{}, prefix...), name...)
	}
	var out []T
	lastKept := ""
	for {
		kvs, more, err := tx.List(prefix, after, min(limit+1, 1000))
		if err != nil {
			return nil, "", err
		}
		for _, kv := range kvs {
			after = kv.Key
			var rec T
			if err := json.Unmarshal(kv.Value, &rec); err != nil {
				return nil, "", fmt.Errorf("iam: decode %s: %w", kv.Key, err)
			}
			if keep != nil && !keep(&rec) {
				continue
			}
			if len(out) == limit {
				return out, encodeMarker(lastKept), nil
			}
			out = append(out, rec)
			lastKept = string(kv.Key[len(prefix):])
		}
		if !more {
			return out, "", nil
		}
	}
}
