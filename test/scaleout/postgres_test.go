package scaleout

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

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to drop the test databases
)

// postgresURLEnv names the PostgreSQL server of the test (its database part is ignored).
const postgresURLEnv = "QESFLOW_TEST_POSTGRES_URL"

const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// visibilitySuffix is what qesflow server appends to the database name for visibility
// (embedded.VisibilityDatabaseSuffix).
const visibilitySuffix = "_visibility"

// postgresServer returns the server to run against. When nothing listens there, the test
// fails on CI (which starts PostgreSQL) and is skipped elsewhere.
func postgresServer(t *testing.T) *url.URL {
	t.Helper()
	raw := os.Getenv(postgresURLEnv)
	if raw == "" {
		raw = defaultPostgresURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("%s is not a postgres:// URL", postgresURLEnv)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is not reachable at %s on CI (.ci/run starts it; or set %s): %v", u.Host, postgresURLEnv, err)
		}
		t.Skipf("PostgreSQL is not reachable at %s (start it, or set %s): %v", u.Host, postgresURLEnv, err)
	}
	_ = conn.Close()
	return u
}

// database is a fresh database name on a server; qesflow server creates it (and its
// visibility twin) on first start.
type database struct {
	server *url.URL
	name   string
}

// freshDatabase names a database nobody used and drops it and its visibility database when
// the test ends (register it before the processes that use it, so it is dropped after them).
func freshDatabase(t *testing.T, server *url.URL) database {
	t.Helper()
	d := database{server: server, name: "qesflow_scaleout_" + strings.ToLower(rand.Text())}
	t.Cleanup(func() {
		if err := d.drop(); err != nil {
			t.Errorf("drop the test databases %s: %v", d.name, err)
		}
	})
	return d
}

// dsn is the QESFLOW_POSTGRES_DSN of the database.
func (d database) dsn() string { return d.withName(d.name) }

func (d database) withName(name string) string {
	u := *d.server
	u.Path = "/" + name
	return u.String()
}

func (d database) drop() error {
	db, err := sql.Open("pgx", d.withName("postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{d.name, d.name + visibilitySuffix} {
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			return err
		}
	}
	return nil
}
