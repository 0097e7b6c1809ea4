package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/pgtest"
)

// A PostgreSQL password with characters a URL must escape is given apart from the DSN (here
// from a file) and used as it is: the server starts and its /readyz answers.
func TestServerPostgresPasswordApartFromTheDSN(t *testing.T) {
	server := pgtest.Server(t)
	database := "qesflow_pw_" + strings.ToLower(rand.Text())
	pgtest.DropAtEnd(t, server, database, database+embedded.VisibilityDatabaseSuffix)
	pwFile := filepath.Join(t.TempDir(), "pg-password")
	require.NoError(t, os.WriteFile(pwFile, []byte("s3cr/t+p@ss:word%\n"), 0o600))
	t.Setenv("QESFLOW_POSTGRES_DSN", pgtest.DSN(server, database))
	t.Setenv("QESFLOW_POSTGRES_PASSWORD_FILE", pwFile)

	health := loopbackAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr syncBuffer
	go func() {
		done <- runMain(ctx, []string{"server", "--temporal-port", "0", "--ui-port", "-1", "--health-addr", health,
			"--log-format", "console"}, io.Discard, &stderr)
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + health + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 3*time.Minute, 200*time.Millisecond, "stderr: %s", stderr.String())
	require.NotContains(t, stderr.String(), "s3cr/t", "the password never reaches the logs")
	cancel()
	require.Equal(t, 0, <-done, "stderr: %s", stderr.String())
}

// A password without a DSN is a mistake, not silently ignored.
func TestServerPasswordNeedsADSN(t *testing.T) {
	t.Setenv("QESFLOW_POSTGRES_DSN", "")
	t.Setenv("QESFLOW_POSTGRES_PASSWORD", "pw")
	var stderr bytes.Buffer
	require.Equal(t, 1, runMain(context.Background(), []string{"server", "--ephemeral"}, io.Discard, &stderr))
	require.Contains(t, stderr.String(), "QESFLOW_POSTGRES_DSN is not")
}
