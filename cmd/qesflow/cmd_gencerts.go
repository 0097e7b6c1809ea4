package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/qesflow/qesflow/embedded"
)

const genCertsSummary = "generate a CA, a Temporal frontend certificate and a client certificate for mutual TLS"

func init() {
	register(command{name: "gen-certs", summary: genCertsSummary, run: runGenCerts})
}

// runGenCerts writes the certificates `qesflow server --frontend-tls-*` and the clients'
// --tls-* flags use. An existing set in the directory is kept, so that an init container can
// run it on every start.
func runGenCerts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("gen-certs", genCertsSummary, stderr)
	dir := flags.String("dir", envString("QESFLOW_CERTS_DIR", ".qesflow/certs"),
		envHelp("directory to write ca.pem, server.pem, server-key.pem, client.pem and client-key.pem into", "QESFLOW_CERTS_DIR"))
	hosts := flags.String("hosts", envString("QESFLOW_CERTS_HOSTS", ""),
		envHelp("comma-separated DNS names and IP addresses of the frontend, besides localhost and 127.0.0.1 (e.g. temporal)", "QESFLOW_CERTS_HOSTS"))
	validFor := flags.Duration("valid-for", envDuration("QESFLOW_CERTS_VALID_FOR", 365*24*time.Hour),
		envHelp("validity of the certificates", "QESFLOW_CERTS_VALID_FOR"))
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(*dir, "ca.pem")); err == nil {
		fmt.Fprintf(stdout, "certificates already in %s (kept)\n", *dir)
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	files, err := embedded.GenerateCertificates(*dir, splitList(*hosts), *validFor)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "CA %s\nserver %s %s\nclient %s %s\n", files.CAFile, files.ServerCertFile, files.ServerKeyFile,
		files.ClientCertFile, files.ClientKeyFile)
	return nil
}
