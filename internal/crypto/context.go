package crypto

import (
	"encoding/binary"
	"slices"
)

// CanonicalContext serialises an encryption context deterministically: the
// number of pairs as a uvarint, then for each key in bytewise order the key
// and its value, each as a uvarint length followed by the bytes. Maps with
// the same pairs give the same bytes whatever order they were built in, and
// every field is length-prefixed, so different maps never give the same
// bytes. nil and an empty map both encode as the single byte 0x00.
func CanonicalContext(ec map[string]string) []byte {
	return AppendCanonicalContext(nil, ec)
}

// AppendCanonicalContext appends CanonicalContext(ec) to dst and returns the
// extended slice. With room in dst and at most 16 pairs it does not allocate.
func AppendCanonicalContext(dst []byte, ec map[string]string) []byte {
	// Sorting needs the keys in a slice; small contexts (the usual case)
	// keep it on the stack.
	var small [16]string
	keys := small[:0]
	if len(ec) > len(small) {
		keys = make([]string, 0, len(ec))
	}
	size := uvarintLen(uint64(len(ec)))
	for k, v := range ec {
		keys = append(keys, k)
		size += uvarintLen(uint64(len(k))) + len(k) + uvarintLen(uint64(len(v))) + len(v)
	}
	slices.Sort(keys) // Go compares strings bytewise
	dst = slices.Grow(dst, size)
	dst = binary.AppendUvarint(dst, uint64(len(ec)))
	for _, k := range keys {
		v := ec[k]
		dst = binary.AppendUvarint(dst, uint64(len(k)))
		dst = append(dst, k...)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}
