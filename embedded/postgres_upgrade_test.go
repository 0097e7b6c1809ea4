package embedded_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/embedded"
	"github.com/qesflow/qesflow/internal/pgtest"
)

// A store an older server left at the previous schema version, in databases created
// beforehand and owned by a user without CREATEDB (a managed PostgreSQL): start brings both
// schemas up to the server's version and the store works; a second start changes nothing.
func TestPostgresUpgradesFromThePreviousSchemaVersionWithoutCreateDB(t *testing.T) {
	t.Parallel()
	server := pgtest.Server(t)
	suffix := strings.ToLower(rand.Text())
	database, role := "qesflow_upgrade_"+suffix, "qesflow_nocreatedb_"+suffix

	superuser := openDB(t, pgtest.DSN(server, "postgres"))
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	_, err := superuser.ExecContext(ctx, `CREATE ROLE "`+role+`" LOGIN NOCREATEDB NOCREATEROLE`)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, pgtest.Drop(server, database, database+embedded.VisibilityDatabaseSuffix))
		_, _ = openDB(t, pgtest.DSN(server, "postgres")).Exec(`DROP ROLE IF EXISTS "` + role + `"`)
	})
	for _, name := range []string{database, database + embedded.VisibilityDatabaseSuffix} {
		_, err := superuser.ExecContext(ctx, `CREATE DATABASE "`+name+`" OWNER "`+role+`"`)
		require.NoError(t, err)
	}
	asRole := *server
	asRole.User = url.User(role)
	dsn := pgtest.DSN(&asRole, database)

	// The role really cannot create databases, so start must not try.
	_, err = openDB(t, pgtest.DSN(&asRole, database)).ExecContext(ctx, `CREATE DATABASE "`+database+`_other"`)
	require.ErrorContains(t, err, "permission denied")

	versions, err := embedded.PostgresSchemaVersions(dsn)
	require.NoError(t, err)
	require.NoError(t, embedded.SetUpPostgresAt(ctx, dsn, versions[0].Previous, versions[1].Previous))
	for _, v := range versions {
		require.Equal(t, v.Previous, schemaVersion(t, pgtest.DSN(&asRole, v.Database)), v.Database)
	}

	cfg := embedded.Config{PostgresDSN: dsn, UIPort: embedded.UIDisabled}
	srv := startOnce(t, cfg)
	for _, v := range versions {
		require.Equal(t, v.Current, schemaVersion(t, pgtest.DSN(&asRole, v.Database)), v.Database)
	}
	c := dialOnce(t, srv)
	requireSearchAttributes(t, c, srv.Namespace())
	startAwaitResume(t, c, "await-upgraded")
	c.Close()
	require.NoError(t, srv.Stop())

	second := startServer(t, cfg)
	c = dial(t, second)
	runWorker(t, c)
	require.Equal(t, "resumed with after-upgrade", resumeAndWait(t, c, "await-upgraded", "after-upgrade"))
}

// schemaVersion reads the Temporal schema version recorded in the database at dsn.
func schemaVersion(t *testing.T, dsn string) string {
	t.Helper()
	var version string
	require.NoError(t, openDB(t, dsn).QueryRow(`SELECT curr_version FROM schema_version`).Scan(&version))
	return version
}

func openDB(t *testing.T, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// The server's readiness keeps checking its store after start: a database that stops
// accepting connections makes it fail, naming the database, until it accepts them again.
func TestPostgresReadinessFollowsTheStore(t *testing.T) {
	t.Parallel()
	server := pgtest.Server(t)
	database := "qesflow_ready_" + strings.ToLower(rand.Text())
	visibility := database + embedded.VisibilityDatabaseSuffix
	pgtest.DropAtEnd(t, server, database, visibility)
	srv := startServer(t, embedded.Config{PostgresDSN: pgtest.DSN(server, database), UIPort: embedded.UIDisabled})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	require.NoError(t, srv.Ready(ctx))

	admin := openDB(t, pgtest.DSN(server, "postgres"))
	_, err := admin.ExecContext(ctx, `ALTER DATABASE "`+visibility+`" WITH ALLOW_CONNECTIONS false`)
	require.NoError(t, err)
	err = srv.Ready(ctx)
	require.ErrorContains(t, err, visibility)

	_, err = admin.ExecContext(ctx, `ALTER DATABASE "`+visibility+`" WITH ALLOW_CONNECTIONS true`)
	require.NoError(t, err)
	require.NoError(t, srv.Ready(ctx))
}

// The server's own metrics are served on the admin address.
func TestServerMetricsOnTheAdminAddress(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	srv := startServer(t, embedded.Config{Ephemeral: true, UIPort: embedded.UIDisabled, MetricsAddress: addr})
	c := dial(t, srv)
	requireSearchAttributes(t, c, srv.Namespace())
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode == http.StatusOK && strings.Contains(string(body), "persistence_requests")
	}, testTimeout, 200*time.Millisecond)
}

// A store a newer server has upgraded is refused with a message, not opened.
func TestPostgresRefusesANewerSchema(t *testing.T) {
	t.Parallel()
	server := pgtest.Server(t)
	database := "qesflow_newer_" + strings.ToLower(rand.Text())
	pgtest.DropAtEnd(t, server, database, database+embedded.VisibilityDatabaseSuffix)
	dsn := pgtest.DSN(server, database)
	versions, err := embedded.PostgresSchemaVersions(dsn)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	admin := openDB(t, pgtest.DSN(server, "postgres"))
	for _, name := range []string{database, database + embedded.VisibilityDatabaseSuffix} {
		_, err := admin.ExecContext(ctx, `CREATE DATABASE "`+name+`"`)
		require.NoError(t, err)
	}
	require.NoError(t, embedded.SetUpPostgresAt(ctx, dsn, versions[0].Current, versions[1].Current))
	_, err = openDB(t, dsn).ExecContext(ctx, `UPDATE schema_version SET curr_version = '99.0'`)
	require.NoError(t, err)

	_, err = embedded.Start(ctx, embedded.Config{PostgresDSN: dsn, UIPort: embedded.UIDisabled})
	require.ErrorContains(t, err, "schema version 99.0, newer than "+versions[0].Current)
}
