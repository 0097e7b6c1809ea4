package embedded_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"net"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to create and drop test databases
	"github.com/stretchr/testify/require"
	"go.temporal.io/api/workflowservice/v1"

	"github.com/qesflow/qesflow/embedded"
)

// postgresURLEnv overrides the PostgreSQL server of the test (its database part is ignored).
const postgresURLEnv = "QESFLOW_TEST_POSTGRES_URL"

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

func TestPostgresSurvivesRestart(t *testing.T) {
	t.Parallel()
	server := postgresServerURL(t)
	database := "qesflow_test_" + strings.ToLower(rand.Text())
	dsn := withDatabase(server, database)
	t.Cleanup(func() { dropDatabases(t, server, database, database+embedded.VisibilityDatabaseSuffix) })

	cfg := embedded.Config{PostgresDSN: dsn, UIPort: embedded.UIDisabled}
	first := startOnce(t, cfg)
	c := dialOnce(t, first)
	requireSearchAttributes(t, c, first.Namespace())
	startAwaitResume(t, c, "await-postgres")
	c.Close()
	require.NoError(t, first.Stop())

	second := startServer(t, cfg)
	c = dial(t, second)
	runWorker(t, c)
	require.Equal(t, "resumed with after-restart", resumeAndWait(t, c, "await-postgres", "after-restart"))
	requireSearchAttributes(t, c, second.Namespace())

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.Eventually(t, func() bool {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: "TreezorUserId = 'await-postgres' AND ExecutionStatus = 'Completed'",
		})
		return err == nil && len(resp.GetExecutions()) == 1
	}, testTimeout, 200*time.Millisecond)
}

// postgresServerURL is the server to test against. The test is skipped only when nothing
// listens there.
func postgresServerURL(t *testing.T) *url.URL {
	t.Helper()
	raw := os.Getenv(postgresURLEnv)
	if raw == "" {
		raw = defaultPostgresURL
	}
	u, err := url.Parse(raw)
	require.NoError(t, err, postgresURLEnv)
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		t.Skipf("PostgreSQL is not reachable at %s (set %s): %v", u.Host, postgresURLEnv, err)
	}
	_ = conn.Close()
	return u
}

func withDatabase(server *url.URL, database string) string {
	u := *server
	u.Path = "/" + database
	return u.String()
}

func dropDatabases(t *testing.T, server *url.URL, names ...string) {
	db, err := sql.Open("pgx", withDatabase(server, "postgres"))
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range names {
		_, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`)
		require.NoError(t, err)
	}
}
