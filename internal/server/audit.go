package server

import (
	"context"
	"crypto"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kagikms/kagi/internal/audit"
	"github.com/kagikms/kagi/internal/rootkey"
)

// AuditKeyFile holds the key that signs the audit log's digests, sealed
// under the root key like all key material, in the data directory (not in
// the audit directory, which can be copied or exported without it).
const AuditKeyFile = "audit-signing.key"

// auditKeyAAD binds the sealed audit key to its purpose.
var auditKeyAAD = []byte("kagi audit digest signing key")

// loadOrCreateAuditKey unseals the audit signing key of the data
// directory, creating it on first use.
func loadOrCreateAuditKey(dataDir string, root *rootkey.Key) (crypto.Signer, error) {
	path := filepath.Join(dataDir, AuditKeyFile)
	sealed, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		der, err := audit.NewSigningKey()
		if err != nil {
			return nil, err
		}
		defer clear(der)
		if sealed, err = root.Seal(der, auditKeyAAD); err != nil {
			return nil, fmt.Errorf("audit signing key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("audit signing key: %w", err)
		}
		_, err = f.Write(sealed)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("audit signing key: %w", err)
		}
		return audit.ParseSigningKey(der)
	}
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	der, err := root.Open(sealed, auditKeyAAD)
	if err != nil {
		return nil, fmt.Errorf("audit signing key %s: %w", path, err)
	}
	defer clear(der)
	return audit.ParseSigningKey(der)
}

// loadAuditKey unseals the audit signing key of an existing data
// directory, for `kagi audit export` and `public-key`.
func loadAuditKey(dataDir string) (crypto.Signer, error) {
	root, err := rootkey.LoadFile(filepath.Join(dataDir, RootKeyFile))
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(dataDir, AuditKeyFile)); err != nil {
		return nil, fmt.Errorf("%s has no audit signing key (%s): start kagi serve --data-dir %s once to create it", dataDir, AuditKeyFile, dataDir)
	}
	return loadOrCreateAuditKey(dataDir, root)
}

const auditUsage = `Usage: kagi audit COMMAND [flags]

Checks and exports kagi's audit trail: the hash-chained log of CloudTrail
records in <data dir>/audit and its signed digest files.

Commands:
  verify       check the log (or exported files) and say what is wrong
  export       write the log as CloudTrail-style gzip files with digests
  public-key   print the public key that verifies the digests (PEM)

Run kagi audit COMMAND --help for a command's flags.
`

// AuditMain runs `kagi audit` with args (after the word audit) and returns
// the process exit code: 0, 1 when the command failed (or the log does not
// verify), 2 for bad usage.
func AuditMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return 2
	}
	switch args[0] {
	case "verify":
		return auditVerify(args[1:], stdout, stderr)
	case "export":
		return auditExport(args[1:], stdout, stderr)
	case "public-key":
		return auditPublicKey(args[1:], stdout, stderr)
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, auditUsage)
		return 0
	}
	fmt.Fprintf(stderr, "kagi audit: unknown command %q\n\n%s", args[0], auditUsage)
	return 2
}

func auditVerify(args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi audit verify"
	f := newFlagSet(cmd, `Usage: kagi audit verify [--data-dir DIR | --dir DIR] [--public-key FILE]

Verifies the audit log of a data directory, or a directory of exported
files: the signatures and the chain of the digest files, the SHA-256 of
every file they list, and the hash chain of every record. It exits 1 and
says what is wrong when a record or file was edited, removed, inserted or
moved, or a digest was removed or changed; it says what it cannot prove,
such as the records written after the last digest. It only reads, so the
server may run.

Flags:
`)
	dataDir := f.String("data-dir", DefaultDataDir, "the data `directory` (the server may run)")
	dir := f.String("dir", "", "a `directory` of exported files (kagi audit export --out), or an audit directory, instead of --data-dir")
	pubFile := f.String("public-key", "", "a PEM `file` with the public key the digests must be signed with (kagi audit public-key prints it); default: the key in the first digest")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	target := *dir
	if target == "" {
		target = filepath.Join(*dataDir, AuditDir)
	} else if flagGiven(f, "data-dir") {
		fmt.Fprintf(stderr, "%s: give --data-dir or --dir, not both\n", cmd)
		return 2
	}
	var pub crypto.PublicKey
	if *pubFile != "" {
		b, err := os.ReadFile(*pubFile)
		if err == nil {
			pub, err = audit.ParsePublicKey(b)
		}
		if err != nil {
			fmt.Fprintf(stderr, "%s: --public-key %s: %v\n", cmd, *pubFile, err)
			return 2
		}
	}
	r, err := audit.Verify(target, pub)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	what := "audit log"
	if r.Exported {
		what = "exported audit files"
	}
	verdict := "verified"
	if !r.OK() {
		verdict = "FAILED"
	}
	fmt.Fprintf(stdout, "%s %s: %s\n", what, target, verdict)
	fmt.Fprintf(stdout, "  %d digests, %d files, %d records: %d covered by signed digests, %d after the last digest\n",
		r.Digests, r.Files, r.Records, r.Covered, r.Tail)
	if r.Fingerprint != "" {
		fmt.Fprintf(stdout, "  signing key: SHA-256 fingerprint %s\n", r.Fingerprint)
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(stdout, "problems (%d):\n", len(r.Problems))
		for _, p := range r.Problems {
			fmt.Fprintf(stdout, "  - %s\n", p)
		}
	}
	fmt.Fprintln(stdout, "not proven:")
	for _, n := range r.Notes {
		fmt.Fprintf(stdout, "  - %s\n", n)
	}
	if !r.OK() {
		fmt.Fprintf(stderr, "%s: %s does not verify: %d problems\n", cmd, target, len(r.Problems))
		return 1
	}
	return 0
}

// flagGiven reports whether the flag name was given.
func flagGiven(f *flagSet, name string) bool {
	set := false
	f.Visit(func(fl *flag.Flag) { set = set || fl.Name == name })
	return set
}

func auditExport(args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi audit export"
	f := newFlagSet(cmd, `Usage: kagi audit export --out DIR [--data-dir DIR]

Writes the audit log of a data directory to DIR (new, or empty) as
CloudTrail-style log files, records-<first record>.json.gz, each holding
{"Records":[...]}, with digest files that name them and their SHA-256,
signed with the data directory's audit key, so that
kagi audit verify --dir DIR checks them with nothing else. The log must
verify first. Records after the last digest are not exported: no
signature covers them yet (a running server writes a digest every hour
and when it stops). It only reads the log, so the server may run.

Flags:
`)
	dataDir := f.String("data-dir", DefaultDataDir, "the data `directory` (the server may run)")
	out := f.String("out", "", "the `directory` to write (required; new or empty)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintf(stderr, "%s: --out is required\n", cmd)
		return 2
	}
	key, err := loadAuditKey(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	res, err := audit.Export(context.Background(), filepath.Join(*dataDir, AuditDir), *out, key)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprintf(stdout, "exported %d records in %d files with %d digests to %s\n", res.Records, res.Files, res.Digests, *out)
	if res.Tail > 0 {
		fmt.Fprintf(stdout, "%d records after the last digest were not exported; they will be in the next digest\n", res.Tail)
	}
	return 0
}

func auditPublicKey(args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi audit public-key"
	f := newFlagSet(cmd, `Usage: kagi audit public-key [--data-dir DIR]

Prints the public key of the data directory's audit signing key (PEM). Keep
it apart from the data directory and give it to kagi audit verify
--public-key, so that a log replaced whole with another key's signatures
does not verify.

Flags:
`)
	dataDir := f.String("data-dir", DefaultDataDir, "the data `directory` (the server may run)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	key, err := loadAuditKey(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	b, err := audit.MarshalPublicKey(key.Public())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	fmt.Fprint(stdout, strings.TrimSpace(string(b))+"\n")
	return 0
}
