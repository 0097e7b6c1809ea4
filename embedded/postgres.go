package embedded

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	"go.temporal.io/server/common/persistence"
	sqlpersistence "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	postgresplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/postgresql"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/schema"
)

// VisibilityDatabaseSuffix is appended to the PostgresDSN database name to name the
// visibility database.
const VisibilityDatabaseSuffix = "_visibility"

// Embedded schema files of the server module, and the database holding the catalog.
const (
	postgresMainSchema       = "postgresql/v12/temporal/schema.sql"
	postgresVisibilitySchema = "postgresql/v12/visibility/schema.sql"
	postgresAdminDatabase    = "postgres"
)

var postgresDatabaseName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,49}$`)

// postgresStores creates the main and visibility databases of dsn if they are missing, sets
// up their schemas the first time, brings older schemas up to the server's version and
// returns their configs. A non-empty password replaces the DSN's.
func postgresStores(ctx context.Context, dsn, password string, logger log.Logger) (main, visibility *config.SQL, err error) {
	main, err = parsePostgresDSN(dsn)
	if err != nil {
		return nil, nil, err
	}
	if password != "" {
		main.Password = password
	}
	visibility = withDatabase(main, main.DatabaseName+VisibilityDatabaseSuffix)

	if err := createPostgresDatabases(ctx, main, logger, main.DatabaseName, visibility.DatabaseName); err != nil {
		return nil, nil, err
	}
	if err := setupPostgresSchema(ctx, main, sqlplugin.DbKindMain, postgresMainSchema, postgresMainVersioned, logger); err != nil {
		return nil, nil, err
	}
	if err := setupPostgresSchema(ctx, visibility, sqlplugin.DbKindVisibility, postgresVisibilitySchema, postgresVisibilityVersioned, logger); err != nil {
		return nil, nil, err
	}
	return main, visibility, nil
}

// parsePostgresDSN reads "postgres://user:password@host:port/database?attr=value". Errors
// never repeat the DSN, which may hold a password.
func parsePostgresDSN(dsn string) (*config.SQL, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, errors.New("PostgreSQL DSN is not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("PostgreSQL DSN scheme %q: want postgres://", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("PostgreSQL DSN has no host")
	}
	port := u.Port()
	if port == "" {
		port = "5432"
	}
	database := strings.TrimPrefix(u.Path, "/")
	if !postgresDatabaseName.MatchString(database) {
		return nil, fmt.Errorf("PostgreSQL database name %q: want lower-case letters, digits and _, at most 50", database)
	}
	password, _ := u.User.Password()
	attrs := map[string]string{}
	for key, values := range u.Query() {
		if len(values) != 1 {
			return nil, fmt.Errorf("PostgreSQL DSN attribute %q is given %d times", key, len(values))
		}
		attrs[key] = values[0]
	}
	return &config.SQL{
		PluginName:        postgresplugin.PluginNamePGX,
		ConnectAddr:       net.JoinHostPort(u.Hostname(), port),
		User:              u.User.Username(),
		Password:          password,
		DatabaseName:      database,
		ConnectAttributes: attrs,
	}, nil
}

func withDatabase(c *config.SQL, database string) *config.SQL {
	copied := *c
	copied.ConnectAttributes = make(map[string]string, len(c.ConnectAttributes))
	for k, v := range c.ConnectAttributes {
		copied.ConnectAttributes[k] = v
	}
	copied.DatabaseName = database
	return &copied
}

// createPostgresDatabases creates those of the named databases that do not exist. A database
// the user can connect to is left alone, so that a user without CREATEDB (a managed
// PostgreSQL where the databases are created beforehand) starts as well.
func createPostgresDatabases(ctx context.Context, c *config.SQL, logger log.Logger, names ...string) error {
	var missing []string
	for _, name := range names {
		exists, err := postgresDatabaseExists(ctx, withDatabase(c, name))
		if err != nil {
			return err
		}
		if !exists {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	admin, err := sqlpersistence.NewSQLAdminDB(sqlplugin.DbKindUnknown, withDatabase(c, postgresAdminDatabase),
		resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL at %s as %q to create databases %s: %w", c.ConnectAddr, c.User, strings.Join(missing, ", "), err)
	}
	defer func() { _ = admin.Close() }()
	for _, name := range missing {
		if err := admin.CreateDatabase(name); err != nil {
			return fmt.Errorf("create PostgreSQL database %s (or create it beforehand, owned by %q): %w", name, c.User, err)
		}
	}
	return nil
}

// postgresDatabaseExists connects to c's database: false when PostgreSQL answers that it does
// not exist. (The server's SQL handles do not report a failed connection.)
func postgresDatabaseExists(ctx context.Context, c *config.SQL) (bool, error) {
	query := url.Values{}
	for k, v := range c.ConnectAttributes {
		query.Set(k, v)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(c.User, c.Password), Host: c.ConnectAddr,
		Path: "/" + c.DatabaseName, RawQuery: query.Encode()}
	if c.Password == "" {
		u.User = url.User(c.User)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, u.String())
	if err != nil {
		if isUndefinedDatabase(err) {
			return false, nil
		}
		return false, fmt.Errorf("connect to PostgreSQL database %s at %s as %q: %w", c.DatabaseName, c.ConnectAddr, c.User, redactPassword(err, c.Password))
	}
	_ = conn.Close(ctx)
	return true, nil
}

// redactPassword keeps a password out of an error text.
func redactPassword(err error, password string) error {
	if password == "" || !strings.Contains(err.Error(), password) {
		return err
	}
	return errors.New(strings.ReplaceAll(err.Error(), password, "***"))
}

// isUndefinedDatabase tells whether err is PostgreSQL's "database does not exist".
func isUndefinedDatabase(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "3D000"
	}
	return strings.Contains(err.Error(), "SQLSTATE 3D000")
}

// setupPostgresSchema creates the schema of an empty database. The version row is written
// last, so a database with tables but no version is a setup that was interrupted. A database
// at an older version is brought up to the server's with the versioned updates the server
// module ships; one at a newer version is refused.
func setupPostgresSchema(ctx context.Context, c *config.SQL, kind sqlplugin.DbKind, schemaFile, versionedDir string, logger log.Logger) error {
	admin, err := sqlpersistence.NewSQLAdminDB(kind, c, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return fmt.Errorf("connect to PostgreSQL database %s: %w", c.DatabaseName, err)
	}
	defer func() { _ = admin.Close() }()

	tables, err := admin.ListTables(c.DatabaseName)
	if err != nil {
		return fmt.Errorf("list tables of PostgreSQL database %s: %w", c.DatabaseName, err)
	}
	if len(tables) > 0 {
		if _, err := admin.ReadSchemaVersion(c.DatabaseName); err != nil {
			return fmt.Errorf("PostgreSQL database %s has tables but no Temporal schema version "+
				"(an interrupted setup, or not a Temporal database): drop it and start again: %w", c.DatabaseName, err)
		}
		applied, err := upgradePostgresSchema(ctx, admin, c.DatabaseName, versionedDir, admin.ExpectedVersion())
		if len(applied) > 0 {
			logger.Info(fmt.Sprintf("upgraded the schema of PostgreSQL database %s through versions %s", c.DatabaseName, strings.Join(applied, ", ")))
		}
		return err
	}

	statements, err := schemaStatements(schemaFile)
	if err != nil {
		return err
	}
	if err := admin.CreateSchemaVersionTables(); err != nil {
		return fmt.Errorf("create schema version tables in %s: %w", c.DatabaseName, err)
	}
	for _, stmt := range statements {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("set up schema of %s: %w", c.DatabaseName, err)
		}
		if err := admin.Exec(stmt); err != nil {
			return fmt.Errorf("set up schema of %s: %w", c.DatabaseName, err)
		}
	}
	version := admin.ExpectedVersion()
	if err := admin.UpdateSchemaVersion(c.DatabaseName, version, version); err != nil {
		return fmt.Errorf("record schema version of %s: %w", c.DatabaseName, err)
	}
	if err := admin.WriteSchemaUpdateLog("0", version, "", "initial version (qesflow embedded)"); err != nil {
		return fmt.Errorf("record schema update of %s: %w", c.DatabaseName, err)
	}
	return nil
}

func schemaStatements(file string) ([]string, error) {
	raw, err := fs.ReadFile(schema.Assets(), file)
	if err != nil {
		return nil, fmt.Errorf("read embedded schema %s: %w", file, err)
	}
	statements, err := persistence.LoadAndSplitQueryFromReaders([]io.Reader{bytes.NewReader(raw)})
	if err != nil {
		return nil, fmt.Errorf("parse embedded schema %s: %w", file, err)
	}
	return statements, nil
}
