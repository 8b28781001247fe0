// Command kagi is a key management service that speaks the AWS KMS API.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kagikms/kagi/internal/server"
	"github.com/kagikms/kagi/internal/version"
)

const usage = `kagi: a key management service that speaks the AWS KMS API.

Usage:
  kagi serve [flags]     run the service (kagi serve --help for its flags)
  kagi admin COMMAND     administer accounts in a stopped server's data dir (kagi admin --help)
  kagi audit COMMAND     verify and export the audit trail (kagi audit --help)
  kagi version           print the version

`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return server.Main(args[1:], os.Getenv, stdout, stderr)
	case "admin":
		return server.AdminMain(args[1:], stdout, stderr)
	case "audit":
		return server.AuditMain(args[1:], stdout, stderr)
	case "version":
		if len(args) > 1 && (args[1] == "--help" || args[1] == "-h" || args[1] == "-help") {
			fmt.Fprint(stdout, "Usage: kagi version\n\nPrints kagi's version, its Go version and platform, and whether kagi\nruns in FIPS 140-3 mode on which version of Go's FIPS 140-3 module.\n")
			return 0
		}
		fmt.Fprintln(stdout, version.String())
		fmt.Fprintln(stdout, version.FIPS())
		return 0
	case "help", "--help", "-h", "-help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "kagi: unknown command %q\n\n%s", args[0], usage)
	return 2
}
