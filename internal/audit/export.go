package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ExportResult says what Export wrote.
type ExportResult struct {
	Files   int // exported record files
	Digests int
	Records int
	Tail    int // records after the last digest, not exported
}

// Export writes the records of the log in dir that signed digests cover
// to outDir as CloudTrail-style log files, records-<first seq>.json.gz
// holding {"Records":[...]}, one per segment, with digests of their own
// (one per digest of the log, the same format, signed by signer), so that
// Verify(outDir) checks them. The log must verify, signed by signer's key;
// the records after its last digest are not exported (no signature covers
// them yet). outDir must not exist or be empty. Export reads only files
// the log no longer writes, so the server may run.
func Export(ctx context.Context, dir, outDir string, signer crypto.Signer) (*ExportResult, error) {
	ki, err := publicKeyInfo(signer.Public())
	if err != nil {
		return nil, err
	}
	rep, err := Verify(dir, signer.Public())
	if err != nil {
		return nil, err
	}
	if !rep.OK() {
		return nil, fmt.Errorf("export audit log: %s does not verify: %s", dir, strings.Join(rep.Problems, "; "))
	}
	if rep.Exported {
		return nil, fmt.Errorf("export audit log: %s holds exported files already", dir)
	}
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return nil, fmt.Errorf("export audit log: %w", err)
	}
	if names, err := readDirNames(outDir); err != nil {
		return nil, fmt.Errorf("export audit log: %w", err)
	} else if len(names) > 0 {
		return nil, fmt.Errorf("export audit log: %s is not empty", outDir)
	}
	names, err := readDirNames(dir)
	if err != nil {
		return nil, fmt.Errorf("export audit log: %w", err)
	}
	res := &ExportResult{Tail: rep.Tail}
	var prev *digestRef
	for _, dn := range listNames(names).digests {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		body, err := os.ReadFile(filepath.Join(dir, dn))
		if err != nil {
			return nil, fmt.Errorf("export audit log: %w", err)
		}
		src, err := parseDigest(body)
		if err != nil {
			return nil, fmt.Errorf("export audit log: %s: %w", dn, err)
		}
		var files []logFile
		for _, lf := range src.LogFiles {
			if lf.Records == 0 {
				continue
			}
			out, err := exportSegment(filepath.Join(dir, lf.File), lf)
			if err != nil {
				return nil, fmt.Errorf("export audit log: %s: %w", lf.File, err)
			}
			name := fmt.Sprintf("%s%020d%s", exportPrefix, lf.FirstSeq, exportSuffix)
			if err := writeFileSync(filepath.Join(outDir, name), out.gz); err != nil {
				return nil, fmt.Errorf("export audit log: %w", err)
			}
			files = append(files, logFile{File: name, HashValue: out.sum, HashAlgorithm: hashAlgorithm, FirstSeq: lf.FirstSeq, Records: lf.Records})
			res.Files++
			res.Records += lf.Records
		}
		start, err1 := time.Parse(timeFormat, src.StartTime)
		end, err2 := time.Parse(timeFormat, src.EndTime)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("export audit log: %s: %w", dn, err)
		}
		seq := uint64(res.Digests + 1)
		dbody, sig, err := newDigest(signer, ki, seq, prev, start, end, files)
		if err != nil {
			return nil, err
		}
		name := digestName(seq)
		if err := writeFileSync(filepath.Join(outDir, name+sigSuffix), sig); err != nil {
			return nil, fmt.Errorf("export audit log: %w", err)
		}
		if err := writeFileSync(filepath.Join(outDir, name), dbody); err != nil {
			return nil, fmt.Errorf("export audit log: %w", err)
		}
		h := sha256.Sum256(dbody)
		prev = &digestRef{File: name, HashValue: hex.EncodeToString(h[:]), Signature: string(bytes.TrimSpace(sig))}
		res.Digests++
	}
	if err := syncDir(outDir); err != nil {
		return nil, fmt.Errorf("export audit log: %w", err)
	}
	return res, nil
}

type exported struct {
	gz  []byte
	sum string // hex SHA-256 of the uncompressed file
}

// exportSegment turns one segment into {"Records":[...]}, gzipped.
func exportSegment(path string, lf logFile) (*exported, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if h := sha256.Sum256(data); hex.EncodeToString(h[:]) != lf.HashValue {
		return nil, fmt.Errorf("changed since it was verified")
	}
	var prev [hashLen]byte
	if p, err := hex.DecodeString(lf.PrevLineHash); err == nil && len(p) == hashLen {
		copy(prev[:], p)
	}
	var buf bytes.Buffer
	buf.WriteString(`{"Records":[`)
	n := 0
	sc, err := scanSegment(data, lf.File, prev, lf.FirstSeq, func(_ uint64, rec []byte) error {
		if n > 0 {
			buf.WriteByte(',')
		}
		buf.Write(rec)
		n++
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(sc.problems) > 0 || sc.torn || n != lf.Records {
		return nil, fmt.Errorf("changed since it was verified")
	}
	buf.WriteString("]}\n")
	sum := sha256.Sum256(buf.Bytes())
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return &exported{gz: gz.Bytes(), sum: hex.EncodeToString(sum[:])}, nil
}
