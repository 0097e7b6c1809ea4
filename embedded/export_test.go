package embedded

import (
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	sqlpersistence "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"
	"go.temporal.io/server/schema"
	postgresqlschema "go.temporal.io/server/schema/postgresql/v12"
)

// PostgresSchemaVersion is a database's schema: the server's current version and the one
// before it (a store an older server left behind).
type PostgresSchemaVersion struct {
	Database, Current, Previous string
}

// PostgresSchemaVersions are the versions of the main and visibility databases of dsn.
func PostgresSchemaVersions(dsn string) ([2]PostgresSchemaVersion, error) {
	main, err := parsePostgresDSN(dsn)
	if err != nil {
		return [2]PostgresSchemaVersion{}, err
	}
	out := [2]PostgresSchemaVersion{
		{Database: main.DatabaseName, Current: postgresqlschema.Version},
		{Database: main.DatabaseName + VisibilityDatabaseSuffix, Current: postgresqlschema.VisibilityVersion},
	}
	for i, dir := range []string{postgresMainVersioned, postgresVisibilityVersioned} {
		entries, err := fs.ReadDir(schema.Assets(), dir)
		if err != nil {
			return out, err
		}
		var versions []string
		for _, e := range entries {
			versions = append(versions, strings.TrimPrefix(e.Name(), "v"))
		}
		slices.SortFunc(versions, compareSchemaVersions)
		at := slices.Index(versions, out[i].Current)
		if at < 1 {
			return out, fmt.Errorf("no version before %s in %s", out[i].Current, dir)
		}
		out[i].Previous = versions[at-1]
	}
	return out, nil
}

// SetUpPostgresAt sets up the schemas of the existing, empty databases of dsn at the given
// versions, as the official temporal-sql-tool does (setup-schema -v 0.0, then update-schema
// to the version), through this package's upgrade path.
func SetUpPostgresAt(ctx context.Context, dsn, mainVersion, visibilityVersion string) error {
	main, err := parsePostgresDSN(dsn)
	if err != nil {
		return err
	}
	for _, db := range []struct {
		cfg     *config.SQL
		kind    sqlplugin.DbKind
		dir     string
		version string
	}{
		{main, sqlplugin.DbKindMain, postgresMainVersioned, mainVersion},
		{withDatabase(main, main.DatabaseName+VisibilityDatabaseSuffix), sqlplugin.DbKindVisibility, postgresVisibilityVersioned, visibilityVersion},
	} {
		admin, err := sqlpersistence.NewSQLAdminDB(db.kind, db.cfg, resolver.NewNoopResolver(), log.NewNoopLogger(), metrics.NoopMetricsHandler)
		if err != nil {
			return err
		}
		err = admin.CreateSchemaVersionTables()
		if err == nil {
			err = admin.UpdateSchemaVersion(db.cfg.DatabaseName, "0.0", "0.0")
		}
		if err == nil {
			_, err = upgradePostgresSchema(ctx, admin, db.cfg.DatabaseName, db.dir, db.version)
		}
		_ = admin.Close()
		if err != nil {
			return fmt.Errorf("set up %s at %s: %w", db.cfg.DatabaseName, db.version, err)
		}
	}
	return nil
}
