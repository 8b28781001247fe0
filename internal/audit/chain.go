package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The chain. Every line of every segment is one JSON object that starts
// with "prev", the hex SHA-256 of the line before it (without its newline;
// the first line of the log links to 64 zeros). A line is either a record:
//
//	{"prev":"<hex>","seq":17,"record":{...the CloudTrail record...}}
//
// or the header that opens each segment file, which names the file (so a
// renamed or reordered file shows) and the digest written before it (so a
// removed last digest shows while any later segment exists):
//
//	{"prev":"<hex>","segment":"seg-00000000000000000017.jsonl","previousDigest":{"file":"digest-00000000000000000002.json","hashValue":"<hex>","signature":"<hex>"}}
//
// seq numbers records from 1 without gaps. A segment's name carries the seq
// of its first record, zero-padded so that names sort in log order.

// hashLen is the length of a SHA-256 hash.
const hashLen = sha256.Size

// maxLine bounds one line of a segment; a record is far smaller (the API
// bounds a request body at 1 MiB).
const maxLine = 8 << 20

// Names of the files in an audit directory.
const (
	segPrefix    = "seg-"
	segSuffix    = ".jsonl"
	digestPrefix = "digest-"
	digestSuffix = ".json"
	sigSuffix    = ".sig"
)

func segName(firstSeq uint64) string { return fmt.Sprintf("%s%020d%s", segPrefix, firstSeq, segSuffix) }

func digestName(seq uint64) string {
	return fmt.Sprintf("%s%020d%s", digestPrefix, seq, digestSuffix)
}

// parseName returns the number in a segment or digest file name, or false
// when name is not one.
func parseName(name, prefix, suffix string) (uint64, bool) {
	s, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, suffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// digestRef names a digest from a segment header, or the previous digest
// from a digest.
type digestRef struct {
	File      string `json:"file"`
	HashValue string `json:"hashValue"`
	Signature string `json:"signature"`
}

// line is one parsed line of a segment.
type line struct {
	Prev           string          `json:"prev"`
	Seq            uint64          `json:"seq,omitempty"`
	Record         json.RawMessage `json:"record,omitempty"`
	Segment        string          `json:"segment,omitempty"`
	PreviousDigest *digestRef      `json:"previousDigest,omitempty"`
}

func (l *line) isHeader() bool { return l.Segment != "" }

// appendRecordLine appends the line of record seq, linked to prev, with its
// newline.
func appendRecordLine(buf []byte, prev *[hashLen]byte, seq uint64, record []byte) []byte {
	buf = append(buf, `{"prev":"`...)
	buf = hex.AppendEncode(buf, prev[:])
	buf = append(buf, `","seq":`...)
	buf = strconv.AppendUint(buf, seq, 10)
	buf = append(buf, `,"record":`...)
	buf = append(buf, record...)
	return append(buf, "}\n"...)
}

// headerLine is the first line of a segment, with its newline.
func headerLine(prev *[hashLen]byte, name string, d *digestRef) []byte {
	b, err := json.Marshal(line{Prev: hex.EncodeToString(prev[:]), Segment: name, PreviousDigest: d})
	if err != nil {
		panic(err) // strings only
	}
	return append(b, '\n')
}

// parseLine parses one line (without its newline). It accepts exactly the
// shapes the log writes: a record with a seq, or a header.
func parseLine(b []byte) (*line, error) {
	var l line
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&l); err != nil {
		return nil, fmt.Errorf("not a log line: %w", err)
	}
	if d.More() {
		return nil, errors.New("not a log line: data after the object")
	}
	if p, err := hex.DecodeString(l.Prev); err != nil || len(p) != hashLen {
		return nil, errors.New("not a log line: prev is not a hex SHA-256")
	}
	switch {
	case l.Segment != "" && l.Seq == 0 && l.Record == nil:
	case l.Segment == "" && l.PreviousDigest == nil && l.Seq > 0 && len(l.Record) > 0 && l.Record[0] == '{':
	default:
		return nil, errors.New("not a log line: neither a record nor a segment header")
	}
	return &l, nil
}

// segScan is what scanSegment found in one segment's bytes.
type segScan struct {
	header    *line
	records   int
	firstSeq  uint64 // the seq its first record has, or would have
	nextSeq   uint64 // the seq after its last record
	prevHash  [hashLen]byte
	lastHash  [hashLen]byte // the hash of its last line (prevHash if none)
	good      int           // bytes up to the end of the last good line
	torn      bool          // the data ends in a partial line (no newline)
	problems  []string      // chain breaks and bad lines, in order
	firstBad  int           // offset of the first bad line; -1 if none
	badParse  bool          // the first bad line is not a line at all (a crash's garbage)
	empty     bool          // no bytes at all
	lineCount int
}

// scanSegment walks the lines of segment name, which should link to prev
// and number its first record nextSeq. fn, if not nil, gets each record.
// It never stops early: it reports every chain break so that verify can
// say what is wrong; after a break it follows the lines as they link.
func scanSegment(data []byte, name string, prev [hashLen]byte, nextSeq uint64, fn func(seq uint64, record []byte) error) (*segScan, error) {
	s := &segScan{firstSeq: nextSeq, nextSeq: nextSeq, prevHash: prev, lastHash: prev, firstBad: -1}
	bad := func(off int, format string, args ...any) {
		if s.firstBad < 0 {
			s.firstBad = off
		}
		s.problems = append(s.problems, fmt.Sprintf("%s line %d: ", name, s.lineCount)+fmt.Sprintf(format, args...))
	}
	off := 0
	for off < len(data) {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			s.torn = true
			break
		}
		b := data[off : off+i]
		s.lineCount++
		if len(b) > maxLine {
			bad(off, "longer than %d bytes", maxLine)
			off += i + 1
			continue
		}
		l, err := parseLine(b)
		if err != nil {
			if s.firstBad < 0 {
				s.badParse = true
			}
			bad(off, "%v", err)
			off += i + 1
			continue
		}
		h := sha256.Sum256(b)
		p, _ := hex.DecodeString(l.Prev)
		if !bytes.Equal(p, s.lastHash[:]) {
			bad(off, "the chain is broken: this line does not link to the line before it (a line was edited, removed, inserted or moved)")
		}
		switch {
		case s.lineCount == 1 && !l.isHeader():
			bad(off, "a segment starts with its header, this is a record")
		case s.lineCount == 1:
			s.header = l
			if l.Segment != name {
				bad(off, "the header names segment %s: the file was renamed or moved", l.Segment)
			}
		case l.isHeader():
			bad(off, "a segment header inside the segment (lines of another segment were inserted)")
		default:
			if l.Seq != s.nextSeq {
				bad(off, "record seq %d where %d comes next (records were removed, inserted or reordered)", l.Seq, s.nextSeq)
			}
			s.records++
			s.nextSeq = l.Seq + 1
			if fn != nil {
				if err := fn(l.Seq, bytes.Clone(l.Record)); err != nil {
					return s, err
				}
			}
		}
		s.lastHash = h
		off += i + 1
		if s.firstBad < 0 {
			s.good = off
		}
	}
	// An empty file is a segment a crash caught between its creation and
	// its header; the caller decides whether it may be one.
	s.empty = len(data) == 0
	return s, nil
}
