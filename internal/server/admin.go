package server

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/kagikms/kagi/internal/arn"
	"github.com/kagikms/kagi/internal/iam"
	"github.com/kagikms/kagi/internal/rootkey"
	"github.com/kagikms/kagi/internal/storage/bolt"
)

// `kagi admin` works on the data directory itself, not through the API:
// accounts have no API of their own (an account's root is the highest
// principal the API knows). It lives beside `kagi serve` because both open
// the same directory the same way; only this package knows its layout and
// the concrete store.

const adminUsage = `Usage: kagi admin COMMAND [flags]

Administers a kagi data directory: its accounts, its services and its store
file. It opens the store itself, so the kagi serve that uses the directory
must be stopped first.

Commands:
  create-account      create an account and print its root credentials
  create-access-key   give an account's root another access key (at most 2)
  list-accounts       list the accounts and when they were created
  create-service      register a service principal (NAME.amazonaws.com) and print its credentials
  list-services       list the registered services
  delete-service      remove a service principal and its access keys
  compact             rewrite the store without its free pages, so that
                      erased key material is in no file of the directory

Run kagi admin COMMAND --help for a command's flags.
`

// maxProfileLen bounds --profile; AWS documents no limit.
const maxProfileLen = 64

// AdminMain runs `kagi admin` with args (after the word admin) and returns
// the process exit code: 0, 1 when the command failed, 2 for bad usage.
// Secrets go to stdout only, never to stderr or a log.
func AdminMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, adminUsage)
		return 2
	}
	ctx := context.Background()
	switch args[0] {
	case "create-account":
		return adminCreateAccount(ctx, args[1:], stdout, stderr)
	case "create-access-key":
		return adminCreateAccessKey(ctx, args[1:], stdout, stderr)
	case "list-accounts":
		return adminListAccounts(ctx, args[1:], stdout, stderr)
	case "create-service":
		return adminCreateService(ctx, args[1:], stdout, stderr)
	case "list-services":
		return adminListServices(ctx, args[1:], stdout, stderr)
	case "delete-service":
		return adminDeleteService(ctx, args[1:], stdout, stderr)
	case "compact":
		return adminCompact(args[1:], stdout, stderr)
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, adminUsage)
		return 0
	}
	fmt.Fprintf(stderr, "kagi admin: unknown command %q\n\n%s", args[0], adminUsage)
	return 2
}

// flagSet is a subcommand's flags with its usage text, which goes to
// stdout when asked for (--help) and to stderr after a bad flag.
type flagSet struct {
	*flag.FlagSet
	out bytes.Buffer
}

func newFlagSet(name, usage string) *flagSet {
	f := &flagSet{FlagSet: flag.NewFlagSet(name, flag.ContinueOnError)}
	f.SetOutput(&f.out)
	f.Usage = func() {
		f.out.WriteString(usage)
		f.PrintDefaults()
	}
	return f
}

// parse parses args; when it returns false, the command ends with code.
func (f *flagSet) parse(args []string, stdout, stderr io.Writer) (code int, ok bool) {
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			stdout.Write(f.out.Bytes())
			return 0, false
		}
		stderr.Write(f.out.Bytes())
		return 2, false
	}
	if f.NArg() > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", f.Name(), f.Arg(0))
		return 2, false
	}
	return 0, true
}

func (f *flagSet) dataDir() *string {
	return f.String("data-dir", DefaultDataDir, "the data `directory` of a stopped kagi serve")
}

// checkAccountID checks a --account-id flag; it reports usage errors.
func checkAccountID(cmd, id string, stderr io.Writer) bool {
	if arn.IsAccountID(id) {
		return true
	}
	fmt.Fprintf(stderr, "%s: --account-id %q is not an account id: it must be 12 digits, like 123456789012\n", cmd, id)
	return false
}

// checkProfile checks a --profile flag: the name goes between brackets in
// a credentials file, so it is kept to characters that cannot break one.
func checkProfile(cmd, p string, stderr io.Writer) bool {
	ok := p != "" && len(p) <= maxProfileLen
	for _, c := range []byte(p) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '@' || c == '+') {
			ok = false
		}
	}
	if !ok {
		fmt.Fprintf(stderr, "%s: --profile %q: a profile name is 1 to %d letters, digits and - _ . @ +\n", cmd, p, maxProfileLen)
	}
	return ok
}

// openDataDir opens the identities of an existing data directory. It never
// creates one: a root key made here would seal nothing the server knows.
// The caller closes the store.
func openDataDir(dir string) (*iam.Store, *bolt.Store, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil, nil, fmt.Errorf("data dir %s does not exist. kagi admin does not create one; start kagi serve --data-dir %s once to create it", dir, dir)
	}
	for _, name := range []string{RootKeyFile, DBFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("%s is not a kagi data dir: it has no %s. kagi admin does not create one; start kagi serve --data-dir %s once to create it", dir, name, dir)
		} else if err != nil {
			return nil, nil, err
		}
	}
	root, err := rootkey.LoadFile(filepath.Join(dir, RootKeyFile))
	if err != nil {
		return nil, nil, err
	}
	store, err := bolt.Open(filepath.Join(dir, DBFile))
	if errors.Is(err, bolt.ErrLocked) {
		return nil, nil, fmt.Errorf("%s is locked by another process, most likely a running kagi serve.\n"+
			"kagi admin needs the data dir while no kagi serve uses it: stop the server, or, for IAM users and "+
			"access keys of an existing account, use the IAM API (aws iam ...) with the account's root credentials",
			filepath.Join(dir, DBFile))
	}
	if err != nil {
		return nil, nil, err
	}
	return iam.New(store, root, "aws", nil), store, nil
}

// printCredentials writes one profile of an AWS shared-credentials file,
// after a comment line that says whose it is. It starts with an empty line,
// so that appending it to a file that lacks a final newline stays valid.
func printCredentials(w io.Writer, comment, profile, akid, secret string) {
	fmt.Fprintf(w, "\n# %s\n[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n", comment, profile, akid, secret)
}

// closeStore closes the store at the end of a command that has already
// done its work, and turns a failure into exit code 1.
func closeStore(store *bolt.Store, code int, stderr io.Writer) int {
	if err := store.Close(); err != nil {
		fmt.Fprintf(stderr, "kagi admin: close the store: %v\n", err)
		return 1
	}
	return code
}

func adminCreateAccount(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi admin create-account"
	f := newFlagSet(cmd, `Usage: kagi admin create-account [flags]

Creates an account with a root access key and prints the root credentials
once, on stdout, as a profile of an AWS shared-credentials file: append
them to ~/.aws/credentials (kagi admin create-account >> ~/.aws/credentials).
The secret is stored only sealed under the root key; it cannot be shown
again. Run it while no kagi serve uses the data directory.

Flags:
`)
	dataDir := f.dataDir()
	acct := f.String("account-id", "", "the new account's `id`, 12 digits (default: a random one)")
	profile := f.String("profile", "", "the profile `name` to print (default: the account id)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *acct != "" && !checkAccountID(cmd, *acct, stderr) {
		return 2
	}
	if *profile != "" && !checkProfile(cmd, *profile, stderr) {
		return 2
	}
	ids, store, err := openDataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	var akid, secret string
	if *acct == "" {
		*acct, akid, secret, err = ids.CreateAccount(ctx)
	} else {
		akid, secret, err = ids.CreateAccountWithID(ctx, *acct)
	}
	switch {
	case errors.Is(err, iam.ErrAccountExists):
		fmt.Fprintf(stderr, "%s: account %s exists already (kagi admin list-accounts lists the accounts)\n", cmd, *acct)
		return closeStore(store, 1, stderr)
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return closeStore(store, 1, stderr)
	}
	if *profile == "" {
		*profile = *acct
	}
	printCredentials(stdout, fmt.Sprintf("kagi account %s: root credentials (the secret is shown only this once)", *acct), *profile, akid, secret)
	fmt.Fprintf(stderr, "kagi admin: created account %s with root access key %s; its credentials are on stdout, profile [%s]\n", *acct, akid, *profile)
	return closeStore(store, 0, stderr)
}

func adminCreateAccessKey(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi admin create-access-key"
	f := newFlagSet(cmd, `Usage: kagi admin create-access-key --account-id ID [flags]

Gives the root of an account another access key, for rotation or for when
its credentials are lost, and prints it once, on stdout, as a profile of an
AWS shared-credentials file. A principal has at most 2 access keys, as in
AWS: to make room, the root deletes one (aws iam delete-access-key).
Run it while no kagi serve uses the data directory.

Flags:
`)
	dataDir := f.dataDir()
	acct := f.String("account-id", "", "the account's `id`, 12 digits (required)")
	profile := f.String("profile", "", "the profile `name` to print (default: the account id)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if *acct == "" {
		fmt.Fprintf(stderr, "%s: --account-id is required\n", cmd)
		return 2
	}
	if !checkAccountID(cmd, *acct, stderr) {
		return 2
	}
	if *profile == "" {
		*profile = *acct
	}
	if !checkProfile(cmd, *profile, stderr) {
		return 2
	}
	ids, store, err := openDataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	akid, secret, err := ids.CreateRootAccessKey(ctx, *acct)
	switch {
	case errors.Is(err, iam.ErrNoSuchAccount):
		fmt.Fprintf(stderr, "%s: there is no account %s in %s (kagi admin list-accounts lists the accounts)\n", cmd, *acct, *dataDir)
		return closeStore(store, 1, stderr)
	case errors.Is(err, iam.ErrAccessKeyQuota):
		fmt.Fprintf(stderr, "%s: the root of account %s has 2 access keys already, the most a principal may have; "+
			"delete one first (aws iam delete-access-key, with the root's credentials)\n", cmd, *acct)
		return closeStore(store, 1, stderr)
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return closeStore(store, 1, stderr)
	}
	printCredentials(stdout, fmt.Sprintf("kagi account %s: another root access key (the secret is shown only this once)", *acct), *profile, akid, secret)
	fmt.Fprintf(stderr, "kagi admin: created root access key %s for account %s; its credentials are on stdout, profile [%s]; the root's other key keeps working until it is deleted\n", akid, *acct, *profile)
	return closeStore(store, 0, stderr)
}

func adminListAccounts(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi admin list-accounts"
	f := newFlagSet(cmd, `Usage: kagi admin list-accounts [flags]

Prints the accounts of a data directory, one a line: the account id, a tab,
and when it was created (RFC 3339, UTC). Run it while no kagi serve uses
the data directory.

Flags:
`)
	dataDir := f.dataDir()
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	ids, store, err := openDataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	accts, err := ids.ListAccounts(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return closeStore(store, 1, stderr)
	}
	for _, a := range accts {
		fmt.Fprintf(stdout, "%s\t%s\n", a.ID, a.Created.UTC().Format(time.RFC3339))
	}
	return closeStore(store, 0, stderr)
}

// checkServiceName checks a --name flag of the service commands.
func checkServiceName(cmd, name string, stderr io.Writer) bool {
	if name == "" {
		fmt.Fprintf(stderr, "%s: --name is required\n", cmd)
		return false
	}
	if !iam.ValidServiceName(name) {
		fmt.Fprintf(stderr, "%s: --name %q: a service name is 1 to 63 lower-case letters, digits and hyphens, starting with a letter, like s3 or secretsmanager\n", cmd, name)
		return false
	}
	return true
}

func adminCreateService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi admin create-service"
	f := newFlagSet(cmd, `Usage: kagi admin create-service --name NAME [flags]

Registers an integrated service: the service principal NAME.amazonaws.com,
with an access key of its own, printed once on stdout as a profile of an AWS
shared-credentials file. The service calls kagi for itself (key policies
name it as "Principal": {"Service": "NAME.amazonaws.com"}) or on behalf of
a caller, by sending the caller's access key id in the signed header
X-Kagi-Forwarded-Access-Key-Id (and X-Kagi-Forwarded-Security-Token for
temporary credentials); such requests carry kms:ViaService
NAME.REGION.amazonaws.com, and KeyId alias/aws/NAME makes the caller's AWS
managed key on first use. Run it while no kagi serve uses the data
directory.

Flags:
`)
	dataDir := f.dataDir()
	name := f.String("name", "", "the service `name`, the first label of its principal: s3 for s3.amazonaws.com (required)")
	display := f.String("display-name", "", "the `name` its AWS managed keys' descriptions use (default: NAME in upper case)")
	profile := f.String("profile", "", "the profile `name` to print (default: service-NAME)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if !checkServiceName(cmd, *name, stderr) {
		return 2
	}
	if *profile == "" {
		*profile = "service-" + *name
	}
	if !checkProfile(cmd, *profile, stderr) {
		return 2
	}
	ids, store, err := openDataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	principal, akid, secret, err := ids.CreateService(ctx, *name, *display)
	switch {
	case errors.Is(err, iam.ErrServiceExists):
		fmt.Fprintf(stderr, "%s: service %s exists already (kagi admin list-services lists the services)\n", cmd, *name)
		return closeStore(store, 1, stderr)
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return closeStore(store, 1, stderr)
	}
	printCredentials(stdout, fmt.Sprintf("kagi service %s: credentials (the secret is shown only this once)", principal), *profile, akid, secret)
	fmt.Fprintf(stderr, "kagi admin: registered service %s with access key %s; its credentials are on stdout, profile [%s]\n", principal, akid, *profile)
	return closeStore(store, 0, stderr)
}

func adminListServices(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi admin list-services"
	f := newFlagSet(cmd, `Usage: kagi admin list-services [flags]

Prints the registered services, one a line: the service principal, a tab,
the display name, a tab, and when it was registered (RFC 3339, UTC). Run it
while no kagi serve uses the data directory.

Flags:
`)
	dataDir := f.dataDir()
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	ids, store, err := openDataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	svcs, err := ids.ListServices(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return closeStore(store, 1, stderr)
	}
	for _, s := range svcs {
		fmt.Fprintf(stdout, "%s\t%s\t%s\n", s.Principal, s.DisplayName, s.Created.UTC().Format(time.RFC3339))
	}
	return closeStore(store, 0, stderr)
}

func adminDeleteService(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi admin delete-service"
	f := newFlagSet(cmd, `Usage: kagi admin delete-service --name NAME [flags]

Removes a registered service and its access keys: its requests fail from
then on. The AWS managed keys it made stay in its callers' accounts (they
hold the callers' data) and serve the service again if it is registered
again under the same name. Run it while no kagi serve uses the data
directory.

Flags:
`)
	dataDir := f.dataDir()
	name := f.String("name", "", "the service `name` (required)")
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	if !checkServiceName(cmd, *name, stderr) {
		return 2
	}
	ids, store, err := openDataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	switch err := ids.DeleteService(ctx, *name); {
	case errors.Is(err, iam.ErrNoSuchService):
		fmt.Fprintf(stderr, "%s: there is no service %s in %s (kagi admin list-services lists the services)\n", cmd, *name, *dataDir)
		return closeStore(store, 1, stderr)
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return closeStore(store, 1, stderr)
	}
	fmt.Fprintf(stderr, "kagi admin: removed service %s.amazonaws.com and its access keys\n", *name)
	return closeStore(store, 0, stderr)
}

// adminCompact rewrites the store file with only its live data. bbolt does
// not clear the pages it frees, so the sealed material of a deleted key, or
// of imported material that was deleted or expired, may stay in the file
// until its page is reused; after compact it is in no file. kagi serve
// compacts on its own after such erasures (kms.Service.CompactIfErased).
func adminCompact(args []string, stdout, stderr io.Writer) int {
	const cmd = "kagi admin compact"
	f := newFlagSet(cmd, `Usage: kagi admin compact [flags]

Rewrites the data directory's store with only its live data and replaces
the old file: bbolt leaves freed pages (with what was erased, such as the
sealed material of deleted keys) in the file until it reuses them. kagi
serve compacts on its own after it erases key material; this command is
for a stopped server. Run it while no kagi serve uses the data directory.

Flags:
`)
	dataDir := f.dataDir()
	if code, ok := f.parse(args, stdout, stderr); !ok {
		return code
	}
	_, store, err := openDataDir(*dataDir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return 1
	}
	before, after, err := store.Compact(context.Background())
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		store.Close()
		return 1
	}
	if code := closeStore(store, 0, stderr); code != 0 {
		return code
	}
	fmt.Fprintf(stdout, "compacted %s: %d bytes, was %d\n", store.Path(), after, before)
	return 0
}
