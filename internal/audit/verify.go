package audit

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// Report is what Verify found. The log verifies when Problems is empty;
// Notes say what the files cannot prove.
type Report struct {
	Exported    bool   // the directory holds exported files, not a live log
	Digests     int    // digest files
	Files       int    // segment or exported files
	Records     int    // records in them
	Covered     int    // records in files a signed digest covers
	Tail        int    // records after the last digest, which no digest covers
	Fingerprint string // hex SHA-256 of the digests' public key (SubjectPublicKeyInfo)
	Problems    []string
	Notes       []string
}

// OK reports whether no problem was found.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) problem(format string, args ...any) {
	r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
}

func (r *Report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

// exportPrefix and exportSuffix name exported record files.
const (
	exportPrefix = "records-"
	exportSuffix = ".json.gz"
)

// maxExportFile bounds an exported file once uncompressed.
const maxExportFile = 1 << 30

// cannotProve is said after every verification.
const cannotProve = "no file here can show a log cut back to a digest boundary together with the later digests, " +
	"or a log replaced whole and signed with another key: keep the last digest's name and signature " +
	"elsewhere to compare, and pin the key with --public-key"

// Verify checks the log, or the exported files, in dir: the digests'
// signatures and their chain, the files' hashes, and (in a log) the hash
// chain of every line. pub, if not nil, is the key the digests must be
// signed with; nil accepts the key the first digest carries. The error is
// for a directory that cannot be read; what is wrong with the log is in
// the report.
func Verify(dir string, pub crypto.PublicKey) (*Report, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	return VerifyFS(os.DirFS(dir), pub)
}

// VerifyFS is Verify on the files of fsys.
func VerifyFS(fsys fs.FS, pub crypto.PublicKey) (*Report, error) {
	var pin *keyInfo
	if pub != nil {
		ki, err := publicKeyInfo(pub)
		if err != nil {
			return nil, err
		}
		pin = ki
	}
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("verify audit log: %w", err)
	}
	v := &verifier{fsys: fsys, r: &Report{}, pin: pin}
	var segs, exports, digests, sigs []string
	for _, e := range ents {
		n := e.Name()
		switch {
		case isName(n, segPrefix, segSuffix):
			segs = append(segs, n)
		case isName(n, exportPrefix, exportSuffix):
			exports = append(exports, n)
		case isName(n, digestPrefix, digestSuffix):
			digests = append(digests, n)
		case strings.HasSuffix(n, digestSuffix+sigSuffix) && isName(strings.TrimSuffix(n, sigSuffix), digestPrefix, digestSuffix):
			sigs = append(sigs, n)
		case strings.HasSuffix(n, ".tmp"):
			v.r.note("%s is a file a crash left half-written; it is not part of the log", n)
		default:
			v.r.note("%s is not a file of the audit log; not checked", n)
		}
	}
	slices.Sort(segs)
	slices.Sort(exports)
	slices.Sort(digests)
	switch {
	case len(segs) > 0 && len(exports) > 0:
		v.r.problem("the directory mixes segment files of a log (%s) and exported files (%s)", segs[0], exports[0])
	case len(segs) == 0 && len(exports) == 0 && len(digests) == 0:
		v.r.problem("no audit log here: no segment, exported or digest file")
		return v.r, nil
	}
	v.r.Exported = len(exports) > 0
	v.digests(digests, sigs)
	if v.r.Exported {
		v.exported(exports)
	} else {
		v.segments(segs)
	}
	if v.r.Fingerprint == "" && pin != nil {
		v.r.Fingerprint = pin.fingerprint
	}
	v.r.note("%s", cannotProve)
	return v.r, nil
}

type verifier struct {
	fsys fs.FS
	r    *Report
	pin  *keyInfo
	// Every digest read, in order, and what it covers.
	ds      []*vdigest
	covered map[string]*coverage
}

type vdigest struct {
	name string
	d    *digest // nil when it did not parse
	ref  digestRef
}

type coverage struct {
	by  string // the digest's file
	lf  logFile
	idx int // position in the digest's list
	dig *vdigest
}

// digests checks the digest chain: numbering, signatures, the links to
// the previous digest, one key.
func (v *verifier) digests(names, sigs []string) {
	r := v.r
	v.covered = map[string]*coverage{}
	var prev *vdigest
	var want uint64 = 1
	var keyFP string
	if v.pin != nil {
		keyFP = v.pin.fingerprint
	}
	for _, name := range names {
		n, _ := parseName(name, digestPrefix, digestSuffix)
		switch {
		case n > want && n-want <= 10:
			for ; want < n; want++ {
				r.problem("%s is missing: the digests before and after it are here", digestName(want))
			}
		case n > want:
			r.problem("digests %d to %d are missing", want, n-1)
		case n < want: // sorted unique names: only digest 0
			r.problem("%s: digests are numbered from 1", name)
		}
		want = n + 1
		r.Digests++
		body, err := fs.ReadFile(v.fsys, name)
		if err != nil {
			r.problem("%s: %v", name, err)
			prev = nil
			continue
		}
		h := sha256.Sum256(body)
		vd := &vdigest{name: name, ref: digestRef{File: name, HashValue: hex.EncodeToString(h[:])}}
		v.ds = append(v.ds, vd)
		sigb, err := fs.ReadFile(v.fsys, name+sigSuffix)
		if err != nil {
			r.problem("%s: its signature file %s is missing", name, name+sigSuffix)
		}
		vd.ref.Signature = string(bytes.TrimSpace(sigb))
		d, err := parseDigest(body)
		if err != nil {
			r.problem("%s: %v", name, err)
			prev = vd
			continue
		}
		vd.d = d
		if d.Sequence != n || d.File != name {
			r.problem("%s says it is %s, number %d: digest files were renamed", name, d.File, d.Sequence)
		}
		spki, err := base64.StdEncoding.DecodeString(d.PublicKey)
		fp := sha256.Sum256(spki)
		switch {
		case err != nil:
			r.problem("%s: digestPublicKey is not base64", name)
		case hex.EncodeToString(fp[:]) != d.Fingerprint:
			r.problem("%s: digestPublicKeyFingerprint is not the fingerprint of digestPublicKey", name)
		case keyFP == "":
			keyFP = d.Fingerprint
		case keyFP != d.Fingerprint && v.pin != nil:
			r.problem("%s is signed by key %s, not by the pinned key %s", name, d.Fingerprint, keyFP)
		case keyFP != d.Fingerprint:
			r.problem("%s is signed by key %s, the digests before it by key %s", name, d.Fingerprint, keyFP)
		}
		if sigb != nil {
			sig, err := hex.DecodeString(vd.ref.Signature)
			if err == nil {
				err = verifySignature(spki, d.SignatureAlgorithm, signingString(d, body), sig)
			}
			if err != nil {
				r.problem("%s: the signature does not verify: the digest or its signature file was changed (%v)", name, err)
			}
		}
		switch {
		case n == 1:
			if d.PreviousFile != "" || d.PreviousHashValue != "" || d.PreviousSignature != "" {
				r.problem("%s is the first digest but names a previous one (%s)", name, d.PreviousFile)
			}
		case prev == nil || prev.name != digestName(n-1):
			// Reported as missing or unreadable above.
		case d.PreviousFile != prev.name || d.PreviousHashValue != prev.ref.HashValue || d.PreviousHashAlg != hashAlgorithm || d.PreviousSignature != prev.ref.Signature:
			r.problem("%s does not name %s as it is now (file, hash and signature): the earlier digest was changed or replaced", name, prev.name)
		case prev.d != nil && d.StartTime != prev.d.EndTime:
			r.problem("%s starts at %s, but %s ended at %s", name, d.StartTime, prev.name, prev.d.EndTime)
		}
		for i, lf := range d.LogFiles {
			if c, dup := v.covered[lf.File]; dup {
				r.problem("%s lists %s, which %s lists already", name, lf.File, c.by)
				continue
			}
			v.covered[lf.File] = &coverage{by: name, lf: lf, idx: i, dig: vd}
		}
		prev = vd
	}
	if keyFP != "" {
		r.Fingerprint = keyFP
	}
	have := map[string]bool{}
	for _, n := range names {
		have[n] = true
	}
	for _, s := range sigs {
		d := strings.TrimSuffix(s, sigSuffix)
		if have[d] {
			continue
		}
		if n, _ := parseName(d, digestPrefix, digestSuffix); n == want {
			v.r.note("%s is the signature of a digest a crash kept from being written", s)
		} else {
			v.r.problem("%s is here but its digest %s is not: the digest was removed", s, d)
		}
	}
}

// lastOf is, for each digest, the last file it lists.
func (v *verifier) lastFiles() map[string]*vdigest {
	m := map[string]*vdigest{}
	for _, vd := range v.ds {
		if vd.d != nil && len(vd.d.LogFiles) > 0 {
			m[vd.d.LogFiles[len(vd.d.LogFiles)-1].File] = vd
		}
	}
	return m
}

// checkListed reports listed files that are missing and, for a log, the
// files no digest lists that are not at its end.
func (v *verifier) checkListed(files []string) (lastCovered string) {
	have := map[string]bool{}
	for _, f := range files {
		have[f] = true
	}
	for _, vd := range v.ds {
		if vd.d == nil {
			continue
		}
		for _, lf := range vd.d.LogFiles {
			if !have[lf.File] {
				v.r.problem("%s is missing: %s lists it", lf.File, vd.name)
			}
			lastCovered = max(lastCovered, lf.File)
		}
	}
	return lastCovered
}

// checkHash compares a listed file's bytes with its digest's hash.
func (v *verifier) checkHash(name string, data []byte) (*coverage, bool) {
	c := v.covered[name]
	if c == nil {
		return nil, false
	}
	h := sha256.Sum256(data)
	if c.lf.HashAlgorithm != hashAlgorithm || c.lf.HashValue != hex.EncodeToString(h[:]) {
		v.r.problem("%s was changed after %s was signed: its SHA-256 is not the one listed", name, c.by)
		return c, false
	}
	return c, true
}

// segments checks a log's segment files and walks its hash chain.
func (v *verifier) segments(segs []string) {
	r := v.r
	lastCovered := v.checkListed(segs)
	ends := v.lastFiles()
	var prev [hashLen]byte
	nextSeq := uint64(1)
	var cur *digestRef // the digest the next segment's header must name
	inTail := false
	for i, name := range segs {
		r.Files++
		data, err := fs.ReadFile(v.fsys, name)
		if err != nil {
			r.problem("%s: %v", name, err)
			continue
		}
		c, _ := v.checkHash(name, data)
		if c == nil {
			if name < lastCovered {
				r.problem("%s is in no digest, yet digests cover files after it: it was added, or renamed", name)
			} else {
				inTail = true
			}
		}
		if n, _ := parseName(name, segPrefix, segSuffix); n != nextSeq {
			r.problem("%s should begin with record %d, where the chain is: segment files were removed, added or renamed", name, nextSeq)
		}
		sc, err := scanSegment(data, name, prev, nextSeq, nil)
		if err != nil {
			r.problem("%s: %v", name, err)
			continue
		}
		if i == len(segs)-1 && c == nil && sc.badParse && garbageOnly(data[sc.firstBad:]) {
			// What follows the last good line holds no line of the log:
			// the part of the last write a crash kept from the disk.
			r.note("%s ends in %d bytes that are no lines of the log, as a crash mid-write leaves (%s): the next start of kagi drops them", name, len(data)-sc.firstBad, sc.problems[0])
			sc.torn = false
		} else {
			r.Problems = append(r.Problems, sc.problems...)
		}
		if sc.empty {
			if i == len(segs)-1 && c == nil {
				r.note("%s is empty: a crash came between its creation and its first line; the next start of kagi writes it", name)
			} else {
				r.problem("%s is empty: a segment starts with its header", name)
			}
		}
		if sc.torn {
			if i == len(segs)-1 && c == nil {
				r.note("%s ends in a partial line, a write cut short (kagi was killed or the machine crashed, or a write is in progress): the next start of kagi drops it", name)
			} else {
				r.problem("%s ends in a partial line, but it is not the end of the log: it was cut", name)
			}
		}
		if sc.header != nil && !sameRef(sc.header.PreviousDigest, cur) {
			switch {
			case sc.header.PreviousDigest == nil:
				r.problem("%s begins as if no digest came before it, but %s did", name, cur.File)
			case !v.hasDigest(sc.header.PreviousDigest.File):
				r.problem("%s begins after %s, which is missing: the digest was removed", name, sc.header.PreviousDigest.File)
			default:
				r.problem("%s begins after %s as it was then, not as it is now, or not in this place: digests or segments were changed or moved", name, sc.header.PreviousDigest.File)
			}
		}
		if c != nil {
			lf := c.lf
			if lf.FirstSeq != sc.firstSeq || lf.Records != sc.records || lf.PrevLineHash != hex.EncodeToString(sc.prevHash[:]) || lf.LastLineHash != hex.EncodeToString(sc.lastHash[:]) {
				r.problem("%s does not sit in the chain where %s says (records %d..%d)", name, c.by, lf.FirstSeq, lf.FirstSeq+uint64(lf.Records)-1)
			}
			r.Covered += sc.records
		} else {
			r.Tail += sc.records
		}
		r.Records += sc.records
		prev, nextSeq = sc.lastHash, sc.nextSeq
		if vd := ends[name]; vd != nil {
			cur = &vd.ref
		}
	}
	if (inTail && r.Tail > 0) || len(v.ds) == 0 {
		if len(v.ds) == 0 {
			r.note("no digest yet: the %d records are chained but no signature covers them", r.Tail)
		} else {
			r.note("%d records after the last digest (%s): their chain is intact but no signature covers them yet, so whoever can write the directory could change or cut them", r.Tail, v.ds[len(v.ds)-1].name)
		}
	}
}

func (v *verifier) hasDigest(name string) bool {
	for _, vd := range v.ds {
		if vd.name == name {
			return true
		}
	}
	return false
}

// exported checks exported files: each must be listed, whole, and hold
// the records its digest says.
func (v *verifier) exported(files []string) {
	r := v.r
	v.checkListed(files)
	for _, name := range files {
		r.Files++
		raw, err := fs.ReadFile(v.fsys, name)
		if err != nil {
			r.problem("%s: %v", name, err)
			continue
		}
		data, err := gunzip(raw)
		if err != nil {
			r.problem("%s: %v", name, err)
			continue
		}
		c, ok := v.checkHash(name, data)
		if c == nil {
			r.problem("%s is in no digest: it was added, or its digest was removed", name)
		}
		n, err := countRecords(data)
		if err != nil {
			r.problem("%s: %v", name, err)
			continue
		}
		r.Records += n
		if ok {
			if n != c.lf.Records {
				r.problem("%s holds %d records, %s says %d", name, n, c.by, c.lf.Records)
			}
			r.Covered += n
		}
	}
	if len(v.ds) == 0 {
		r.problem("no digest: exported files cannot be verified without one")
	}
}

func gunzip(b []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	data, err := io.ReadAll(io.LimitReader(zr, maxExportFile+1))
	if err != nil {
		return nil, fmt.Errorf("not gzip: %w", err)
	}
	if len(data) > maxExportFile {
		return nil, fmt.Errorf("larger than %d bytes uncompressed", maxExportFile)
	}
	return data, nil
}

// countRecords checks that data is {"Records":[{...},...]} and counts them.
func countRecords(data []byte) (int, error) {
	var f struct {
		Records []json.RawMessage `json:"Records"`
	}
	d := json.NewDecoder(bytes.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(&f); err != nil {
		return 0, fmt.Errorf(`not a CloudTrail log file {"Records":[...]}: %w`, err)
	}
	if d.More() || f.Records == nil {
		return 0, errors.New(`not a CloudTrail log file {"Records":[...]}`)
	}
	for i, rec := range f.Records {
		if len(rec) == 0 || rec[0] != '{' {
			return 0, fmt.Errorf("record %d is not an object", i+1)
		}
	}
	return len(f.Records), nil
}

// garbageOnly reports whether no line of b parses as a line of the log.
func garbageOnly(b []byte) bool {
	for ln := range bytes.SplitSeq(b, []byte("\n")) {
		if _, err := parseLine(ln); err == nil {
			return false
		}
	}
	return true
}
