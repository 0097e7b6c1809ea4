package embedded

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/config"
	sqliteplugin "go.temporal.io/server/common/persistence/sql/sqlplugin/sqlite"
	sqliteschema "go.temporal.io/server/schema/sqlite"
	"google.golang.org/protobuf/types/known/durationpb"
)

// DatabaseFileName is the SQLite file inside Config.DataDir.
const DatabaseFileName = "temporal.db"

// setupFilePrefix names the scratch file a new database is built in before it is renamed
// to DatabaseFileName, so that a crash during schema setup never leaves a half-built store.
const setupFilePrefix = DatabaseFileName + ".setup-"

func validatePragmas(pragmas map[string]string) error {
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(pragmas)) {
		if !slices.Contains(AllowedSQLitePragmas, strings.ToLower(name)) {
			errs = append(errs, fmt.Errorf("SQLite pragma %q is not supported (allowed: %s)",
				name, strings.Join(AllowedSQLitePragmas, ", ")))
			continue
		}
		if value := pragmas[name]; value == "" || strings.ContainsAny(value, "&=;?# ") {
			errs = append(errs, fmt.Errorf("SQLite pragma %s has invalid value %q", name, value))
		}
	}
	return errors.Join(errs...)
}

// sqliteFileStore returns the SQL config of the file store in dir, creating its schema, with
// namespace ns in it, the first time. A new store is created without the visibility indexes
// qesflow never queries (see keptVisibilityIndexes) unless cfg.AllVisibilityIndexes; an
// existing one is left as it is.
func sqliteFileStore(dir string, cfg Config, ns *sqliteschema.NamespaceConfig) (*config.SQL, error) {
	path := filepath.Join(dir, DatabaseFileName)
	switch _, err := os.Stat(path); {
	case errors.Is(err, fs.ErrNotExist):
		if err := createSQLiteDatabase(dir, path, ns, !cfg.AllVisibilityIndexes); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, fmt.Errorf("check SQLite database %s: %w", path, err)
	}

	attrs := map[string]string{"mode": "rwc"}
	maps.Copy(attrs, DefaultSQLitePragmas)
	for name, value := range cfg.SQLitePragmas {
		attrs[strings.ToLower(name)] = value
	}
	return &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      path,
		ConnectAttributes: attrs,
		MaxConns:          cfg.SQLiteMaxConns,
		MaxIdleConns:      cfg.SQLiteMaxConns,
	}, nil
}

// sqliteMemoryStore returns the SQL config of a new in-memory store. The server's SQLite
// plugin creates its schema when it first opens it.
func sqliteMemoryStore(cfg Config) *config.SQL {
	attrs := map[string]string{"mode": "memory", "cache": "shared"}
	for name, value := range cfg.SQLitePragmas {
		attrs[strings.ToLower(name)] = value
	}
	// The name is the identity of a shared-cache in-memory database within the process:
	// every ephemeral server needs its own.
	return &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      "qesflow-" + rand.Text(),
		ConnectAttributes: attrs,
	}
}

// newNamespaceConfig is the namespace of cfg with its search attributes mapped to
// pre-allocated visibility columns (at random: "Keyword03" may be QESState), for
// preRegisterNamespace.
func newNamespaceConfig(cfg Config, searchAttributes map[string]enumspb.IndexedValueType) (*sqliteschema.NamespaceConfig, error) {
	ns, err := sqliteschema.NewNamespaceConfig(clusterName, cfg.Namespace, false, searchAttributes)
	if err != nil {
		return nil, fmt.Errorf("prepare namespace %s: %w", cfg.Namespace, err)
	}
	ns.Detail.Config.Retention = durationpb.New(cfg.Retention)
	return ns, nil
}

// preRegisterNamespace writes namespace ns into a SQLite store before the server starts, as
// the Temporal CLI dev server does: the server then loads it at start. Registering through the
// API instead would wait for the namespace cache to refresh (about 2 s). A namespace that
// exists is left alone; Start then fixes its retention and search attributes through the API.
func preRegisterNamespace(sqlCfg *config.SQL, ns *sqliteschema.NamespaceConfig) error {
	if err := sqliteschema.CreateNamespaces(sqlCfg, ns); err != nil {
		return fmt.Errorf("register namespace %s: %w", ns.Detail.GetInfo().GetName(), err)
	}
	return nil
}

// createSQLiteDatabase builds the schema in a scratch file next to path, writes namespace ns
// into it and, if trimIndexes, drops the visibility indexes neither qesflow nor the namespace's
// search attributes need (dropUnusedVisibilityIndexes); then renames it into place: path
// exists only once its schema is complete, so the indexes kept always match the mapping of
// the stored namespace.
func createSQLiteDatabase(dir, path string, ns *sqliteschema.NamespaceConfig, trimIndexes bool) error {
	if err := removeSetupLeftovers(dir); err != nil {
		return err
	}
	scratch := filepath.Join(dir, setupFilePrefix+rand.Text())
	// Rollback-journal mode (the SQLite default) writes every committed statement into the
	// database file itself, so the scratch file is complete when SetupSchema returns, even
	// though the server's connection pool keeps its connection open.
	setup := &config.SQL{
		PluginName:        sqliteplugin.PluginName,
		DatabaseName:      scratch,
		ConnectAttributes: map[string]string{"mode": "rwc", "synchronous": "full"},
	}
	if err := sqliteschema.SetupSchema(setup); err != nil {
		_ = os.Remove(scratch)
		return fmt.Errorf("create Temporal schema in %s: %w", scratch, err)
	}
	if err := preRegisterNamespace(setup, ns); err != nil {
		_ = os.Remove(scratch)
		return err
	}
	if trimIndexes {
		if err := dropUnusedVisibilityIndexes(scratch, searchAttributeColumns(ns)); err != nil {
			_ = os.Remove(scratch)
			return err
		}
	}
	if err := os.Rename(scratch, path); err != nil {
		return fmt.Errorf("move new SQLite database into place: %w", err)
	}
	return syncDir(dir)
}

// removeSetupLeftovers deletes scratch files of a schema setup that was interrupted.
func removeSetupLeftovers(dir string) error {
	leftovers, err := filepath.Glob(filepath.Join(dir, setupFilePrefix+"*"))
	if err != nil {
		return fmt.Errorf("look for interrupted schema setups in %s: %w", dir, err)
	}
	for _, f := range leftovers {
		if err := os.Remove(f); err != nil {
			return fmt.Errorf("remove interrupted schema setup: %w", err)
		}
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
