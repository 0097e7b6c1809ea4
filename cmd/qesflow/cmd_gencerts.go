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

// runGenCerts writes the certificates `qesflow server --frontend-tls-*` and the clients'
// --tls-* flags use. An existing set in the directory is kept, so that an init container can
// run it on every start.
func runGenCerts(_ context.Context, args []string, stdout, stderr io.Writer) error {
	flags := newFlagSet("gen-certs", genCertsSummary, stderr)
	dir := envFlag(flags, "dir", "QESFLOW_CERTS_DIR", ".qesflow/certs", "directory to write ca.pem, server.pem, server-key.pem, client.pem and client-key.pem into")
	hosts := envFlag(flags, "hosts", "QESFLOW_CERTS_HOSTS", "", "comma-separated DNS names and IP addresses of the frontend, besides localhost and 127.0.0.1 (e.g. temporal)")
	validFor := envFlag[time.Duration](flags, "valid-for", "QESFLOW_CERTS_VALID_FOR", 365*24*time.Hour, "validity of the certificates")
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
