package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

var updateDocs = flag.Bool("update", false, "rewrite docs/configuration.md from the subcommands' --help")

const configDocPath = "../../docs/configuration.md"

// configurationDoc renders every subcommand's --help into one markdown page.
func configurationDoc(t *testing.T) string {
	t.Helper()
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("# Configuration\n\n")
	b.WriteString("Every flag of every `qesflow` subcommand, as its `--help` prints it. Each flag can also be set\n")
	b.WriteString("by the environment variable named in its text; secrets (client secrets, webhook secrets, API keys,\n")
	b.WriteString("the PostgreSQL DSN) are read from the environment or a file and have no default shown here.\n\n")
	b.WriteString("This page is generated: `go test ./cmd/qesflow -run TestConfigurationDoc -update`.\n\n")
	b.WriteString("Treezor's mutual TLS: every process that calls Treezor (the worker, and the API when\n")
	b.WriteString("`--treezor-base-url` is set) takes the client certificate Treezor signed from your CSR and its\n")
	b.WriteString("key (`--treezor-tls-cert-file`, `--treezor-tls-key-file`, or `TREEZOR_TLS_CERT_FILE`,\n")
	b.WriteString("`TREEZOR_TLS_KEY_FILE`), and a CA bundle only when Treezor's server certificate is not signed by\n")
	b.WriteString("a public CA (`--treezor-tls-ca-file`, `TREEZOR_TLS_CA_FILE`). The files are re-read when they\n")
	b.WriteString("change and on SIGHUP, so a renewed certificate needs no restart. The README's \"Talking to\n")
	b.WriteString("Treezor\" section shows how to make the key and the CSR.\n")
	for _, n := range names {
		var out bytes.Buffer
		code := runMain(context.Background(), []string{n, "--help"}, &out, &out)
		require.Equal(t, 0, code, "qesflow %s --help", n)
		b.WriteString("\n## qesflow " + n + "\n\n```text\n")
		b.WriteString(strings.TrimRight(out.String(), "\n"))
		b.WriteString("\n```\n")
	}
	return b.String()
}

// TestConfigurationDoc keeps docs/configuration.md equal to what the binary says.
func TestConfigurationDoc(t *testing.T) {
	for _, kv := range os.Environ() {
		for _, prefix := range []string{"QESFLOW_", "TREEZOR_", "TEMPORAL_"} {
			if strings.HasPrefix(kv, prefix) {
				name := kv[:strings.IndexByte(kv, '=')]
				t.Setenv(name, "")
				os.Unsetenv(name)
			}
		}
	}
	got := configurationDoc(t)
	if *updateDocs {
		require.NoError(t, os.MkdirAll("../../docs", 0o755))
		require.NoError(t, os.WriteFile(configDocPath, []byte(got), 0o644))
	}
	want, err := os.ReadFile(configDocPath)
	require.NoError(t, err, "run with -update to create it")
	if string(want) != got {
		t.Fatalf("docs/configuration.md is stale (%s); regenerate: go test ./cmd/qesflow -run TestConfigurationDoc -update",
			firstDifference(string(want), got))
	}
}

// firstDifference names the first line where the documented and the actual help differ.
func firstDifference(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d: documented %q, --help says %q", i+1, wl, gl)
		}
	}
	return "no line differs"
}
