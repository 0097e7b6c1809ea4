package embedded

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.temporal.io/server/common/metrics"
	persistencesql "go.temporal.io/server/common/persistence/sql"
	"go.temporal.io/server/common/persistence/sql/sqlplugin"
	"go.temporal.io/server/common/resolver"

	"github.com/qesflow/qesflow/internal/stmtcache"
)

// statementCacheSize bounds the statements each connection of the server's SQLite store keeps
// prepared; the server runs a few dozen distinct statements, so all of them stay cached.
const statementCacheSize = 256

// cachedHandles are the plugin's pooled handles whose connections already cache statements.
var cachedHandles sync.Map // *sqlx.DB → struct{}

// cacheStatements gives the server's connections to the SQLite store cfg a statement cache.
//
// The server's SQLite plugin opens the "sqlite" driver by name and prepares every statement
// anew. It keeps one *sqlx.DB per store in a pool that every part of the server shares and
// that lives as long as the process. So this opens the store through the plugin before the
// server does, and points that pooled handle's *sql.DB at the same store through
// internal/stmtcache; the server then gets the handle from the pool as before. Reaching the
// handle needs one unexported field of the plugin (checked by type, and by
// TestStatementCacheReachesThePluginsHandle at every server upgrade); where it is not found,
// the store runs without the cache and the returned error says why.
//
// The returned function gives the plugin its reference back once the server has stopped.
func cacheStatements(cfg *config.SQL, logger log.Logger) (func() error, error) {
	db, err := persistencesql.NewSQLDB(sqlplugin.DbKindMain, cfg, resolver.NewNoopResolver(), logger, metrics.NoopMetricsHandler)
	if err != nil {
		return nil, fmt.Errorf("open the SQLite store: %w", err)
	}
	xdb, err := pooledHandle(db)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	if _, done := cachedHandles.Load(xdb); done {
		return db.Close, nil
	}
	connector, err := stmtcache.NewConnector(xdb.DB.Driver(), sqliteDSN(cfg), statementCacheSize)
	if err != nil {
		return nil, errors.Join(err, db.Close())
	}
	cached := sql.OpenDB(connector)
	setPoolLimits(cached, cfg)
	// An in-memory store lives while one of its connections is open: open ours first.
	if err := cached.Ping(); err != nil {
		return nil, errors.Join(fmt.Errorf("open the SQLite store with a statement cache: %w", err), cached.Close(), db.Close())
	}
	old := xdb.DB
	xdb.DB = cached
	cachedHandles.Store(xdb, struct{}{})
	_ = old.Close()
	return db.Close, nil
}

// pooledHandle is the *sqlx.DB behind a database the server's SQLite plugin created.
func pooledHandle(db sqlplugin.DB) (*sqlx.DB, error) {
	v := reflect.ValueOf(db)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return nil, fmt.Errorf("the SQLite plugin's database is a %T, not a pointer to a struct", db)
	}
	f := v.Elem().FieldByName("db")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*sqlx.DB]() || f.IsNil() {
		return nil, fmt.Errorf("the SQLite plugin's database %T has no *sqlx.DB field named db", db)
	}
	return (*sqlx.DB)(unsafe.Pointer(f.Pointer())), nil
}

// sqliteDSN is the data source name the server's SQLite plugin opens for cfg: the file or
// memory name, the query parameters SQLite knows, every other attribute as a pragma, and the
// plugin's time format.
func sqliteDSN(cfg *config.SQL) string {
	params := url.Values{}
	keys := make([]string, 0, len(cfg.ConnectAttributes))
	for k := range cfg.ConnectAttributes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		key, value := strings.TrimSpace(k), strings.TrimSpace(cfg.ConnectAttributes[k])
		if sqliteURIParameters[key] {
			params.Set(key, value)
			continue
		}
		params.Add("_pragma", key+"="+value)
	}
	params.Add("_time_format", "sqlite")
	return "file:" + cfg.DatabaseName + "?" + params.Encode()
}

// sqliteURIParameters are the attributes the plugin passes as URI parameters, not pragmas.
var sqliteURIParameters = map[string]bool{
	"cache": true, "immutable": true, "mode": true, "modeof": true, "nolock": true, "psow": true, "setup": true, "vfs": true,
}

// setPoolLimits sets the pool limits the plugin sets on its own handle.
func setPoolLimits(db *sql.DB, cfg *config.SQL) {
	db.SetMaxOpenConns(max(cfg.MaxConns, 1))
	db.SetMaxIdleConns(max(cfg.MaxIdleConns, 1))
	if cfg.MaxConnLifetime > 0 {
		db.SetConnMaxLifetime(cfg.MaxConnLifetime)
	}
	if cfg.ConnectAttributes["mode"] == "memory" {
		db.SetConnMaxIdleTime(0)
	}
}
