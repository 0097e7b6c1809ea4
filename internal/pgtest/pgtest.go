// Package pgtest gives tests the machine's PostgreSQL server: where it is, a DSN per test
// database, and the drop of the databases a test created.
package pgtest

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", to drop test databases
)

// URLEnv overrides the PostgreSQL server of the tests (its database part is ignored).
const URLEnv = "QESFLOW_TEST_POSTGRES_URL"

// DefaultURL is the server of the tests when URLEnv is unset: the machine's PostgreSQL
// with trust authentication.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Server returns the server to test against. When nothing listens there the test fails on
// CI (which starts PostgreSQL) and is skipped elsewhere.
func Server(t testing.TB) *url.URL {
	t.Helper()
	raw := os.Getenv(URLEnv)
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		t.Fatalf("%s is not a postgres:// URL", URLEnv)
	}
	conn, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL is not reachable at %s on CI (.ci/run starts it; or set %s): %v", u.Host, URLEnv, err)
		}
		t.Skipf("PostgreSQL is not reachable at %s (start it, or set %s): %v", u.Host, URLEnv, err)
	}
	_ = conn.Close()
	return u
}

// DSN is the DSN of database on server.
func DSN(server *url.URL, database string) string {
	u := *server
	u.Path = "/" + database
	return u.String()
}

// Drop drops the databases, closing their connections first.
func Drop(server *url.URL, names ...string) error {
	db, err := sql.Open("pgx", DSN(server, "postgres"))
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range names {
		if _, err := db.ExecContext(ctx, `DROP DATABASE IF EXISTS "`+name+`" WITH (FORCE)`); err != nil {
			return err
		}
	}
	return nil
}

// DropAtEnd drops the databases when the test ends (register it before the processes that
// use them, so that they are dropped after those stop).
func DropAtEnd(t testing.TB, server *url.URL, names ...string) {
	t.Helper()
	t.Cleanup(func() {
		if err := Drop(server, names...); err != nil {
			t.Errorf("drop the test databases %v: %v", names, err)
		}
	})
}
