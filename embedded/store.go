package embedded

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/server/common/config"
	"go.temporal.io/server/common/log"
	"go.uber.org/zap"
)

// Data store names in the server config.
const (
	mainStoreName       = "qesflow-main"
	visibilityStoreName = "qesflow-visibility"
)

// store is the persistence of one server, ready for the server to open.
type store struct {
	persistence config.Persistence
	lock        *dirLock // held while the server runs on a DataDir

	// walFile is the SQLite file store in write-ahead-log mode the checkpointer keeps
	// small, if any ("" otherwise).
	walFile     string
	checkpoints *checkpointer
	// releaseStatements gives back the reference cacheStatements holds, if any.
	releaseStatements func() error
}

// startCheckpoints starts the background checkpointer of a SQLite file store in WAL mode;
// it does nothing for any other store. Call it once the server has opened the store.
func (s *store) startCheckpoints(logger *zap.Logger) error {
	if s.walFile == "" {
		return nil
	}
	c, err := startCheckpointer(s.walFile, checkpointInterval, logger)
	if err != nil {
		return err
	}
	s.checkpoints = c
	return nil
}

// release stops the checkpointer, with a last checkpoint that empties the write-ahead log
// if the server has stopped, and unlocks the data directory.
func (s *store) release(serverStopped bool) error {
	var errs []error
	if s.releaseStatements != nil {
		errs = append(errs, s.releaseStatements())
	}
	return errors.Join(append(errs, s.checkpoints.close(serverStopped), s.lock.release())...)
}

// openStore prepares the persistence cfg selects: locks and creates the SQLite file, or
// creates the PostgreSQL databases, with their schemas. SQLite stores also get the namespace
// and search attributes written in before the server starts.
func openStore(ctx context.Context, cfg Config, searchAttributes map[string]enumspb.IndexedValueType, logger log.Logger) (*store, error) {
	shards := cfg.NumHistoryShards
	if shards == 0 {
		shards = DefaultNumHistoryShards
	}
	switch cfg.persistence() {
	case sqliteMemory:
		ns, err := newNamespaceConfig(cfg, searchAttributes)
		if err != nil {
			return nil, err
		}
		sqlCfg := sqliteMemoryStore(cfg)
		if err := preRegisterNamespace(sqlCfg, ns); err != nil {
			return nil, err
		}
		st := &store{persistence: singleSQLStore(sqlCfg, shards)}
		st.cacheStatements(cfg, sqlCfg, logger)
		return st, nil
	case postgres:
		main, visibility, err := postgresStores(ctx, cfg.PostgresDSN, cfg.PostgresPassword, logger)
		if err != nil {
			return nil, err
		}
		p := singleSQLStore(main, shards)
		p.VisibilityStore = visibilityStoreName
		p.DataStores[visibilityStoreName] = config.DataStore{SQL: visibility}
		return &store{persistence: p}, nil
	default:
		st, err := openSQLiteFile(cfg, shards, searchAttributes)
		if err == nil {
			st.cacheStatements(cfg, sqlCfgOf(st), logger)
		}
		return st, err
	}
}

func openSQLiteFile(cfg Config, shards int32, searchAttributes map[string]enumspb.IndexedValueType) (*store, error) {
	ns, err := newNamespaceConfig(cfg, searchAttributes)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	// A new store gets ns while it is built; an existing one gets it here if it lacks it.
	sqlCfg, err := sqliteFileStore(cfg.DataDir, cfg, ns)
	if err == nil {
		err = preRegisterNamespace(sqlCfg, ns)
	}
	if err != nil {
		_ = lock.release()
		return nil, err
	}
	st := &store{persistence: singleSQLStore(sqlCfg, shards), lock: lock}
	if strings.EqualFold(cfg.sqlitePragma("journal_mode"), "wal") {
		st.walFile = sqlCfg.DatabaseName
	}
	return st, nil
}

// singleSQLStore keeps persistence and visibility in one SQL database, as SQLite does.
func singleSQLStore(sqlCfg *config.SQL, shards int32) config.Persistence {
	return config.Persistence{
		DefaultStore:     mainStoreName,
		VisibilityStore:  mainStoreName,
		NumHistoryShards: shards,
		DataStores:       map[string]config.DataStore{mainStoreName: {SQL: sqlCfg}},
	}
}

// cacheStatements gives the server's SQLite connections a statement cache unless
// cfg.NoStatementCache; a store the cache cannot reach runs without it, with a warning.
func (s *store) cacheStatements(cfg Config, sqlCfg *config.SQL, logger log.Logger) {
	if cfg.NoStatementCache {
		return
	}
	release, err := cacheStatements(sqlCfg, logger)
	if err != nil {
		logger.Warn("SQLite statements are prepared anew for every query: " + err.Error())
		return
	}
	s.releaseStatements = release
}

// sqlCfgOf is the SQL config of a single-database store.
func sqlCfgOf(s *store) *config.SQL {
	return s.persistence.DataStores[mainStoreName].SQL
}
