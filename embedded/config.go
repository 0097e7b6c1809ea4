package embedded

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Well-known ports of a local Temporal, the defaults of `qesflow dev` flags. Config itself
// treats port 0 as "pick a free port", which is what tests want.
const (
	DefaultFrontendPort = 7233
	DefaultUIPort       = 8233
)

// Defaults applied by Start to zero Config fields.
const (
	DefaultNamespace        = "default"
	DefaultRetention        = 24 * time.Hour
	DefaultFrontendIP       = "127.0.0.1"
	DefaultLogLevel         = "warn"
	DefaultNumHistoryShards = 1
)

// UIDisabled as Config.UIPort runs no Web UI.
const UIDisabled = -1

// Config describes one embedded server. Exactly one of DataDir, Ephemeral and PostgresDSN
// selects the persistence.
type Config struct {
	// DataDir keeps the SQLite database at DataDir/temporal.db (the directory is created with
	// mode 0700). The schema is created on first start; later starts reuse the file, so
	// workflows survive a restart or a crash of the process. One server at a time may use a
	// DataDir (a lock file enforces it).
	DataDir string
	// Ephemeral keeps everything in an in-memory SQLite database, lost when the process exits.
	Ephemeral bool
	// PostgresDSN, e.g. "postgres://postgres@127.0.0.1:5432/qesflow?sslmode=disable", keeps
	// persistence in that database and visibility in "<database>_visibility". Both databases
	// are created if missing and their schemas set up on first start.
	PostgresDSN string
	// MetricsAddress, when set (host:port), serves the server's own Prometheus metrics
	// (persistence, shards, task queues, ...) at http://MetricsAddress/metrics.
	MetricsAddress string
	// PostgresPassword, when set, replaces the DSN's password, so that a password with
	// characters a URL must escape (/, +, @, ...) can be given as it is.
	PostgresPassword string

	// Namespace is registered at start if missing (default "default").
	Namespace string
	// Retention of closed workflows in Namespace (default 24h). An existing namespace is
	// updated to it.
	Retention time.Duration

	// FrontendIP is the address the frontend gRPC and HTTP APIs and the UI bind to
	// (default 127.0.0.1).
	FrontendIP string
	// FrontendPort is the frontend gRPC port; 0 picks a free port. The internal services
	// (history, matching, worker) and the frontend HTTP API always run on free ports.
	FrontendPort int
	// UIPort is the Temporal Web UI port; 0 picks a free port, UIDisabled (-1) runs no UI.
	UIPort int
	// UICodecEndpoint is an optional remote codec endpoint URL the UI decodes payloads with.
	UICodecEndpoint string

	// TLS, when set, requires mutual TLS on the frontend: only clients presenting a
	// certificate signed by TLS.CAFile can call it. Without TLS, Start refuses a FrontendIP
	// other than a loopback address unless Insecure is set.
	TLS *TLS
	// Insecure lets a frontend without TLS bind a non-loopback address: anyone who reaches it
	// can start, signal and terminate workflows. Only behind a network that admits qesflow's
	// own processes alone.
	Insecure bool

	// Logger receives the server's logs at LogLevel (default "warn") or above. Nil logs JSON
	// to stderr.
	Logger   *zap.Logger
	LogLevel string

	// NumHistoryShards is the history shard count of a new store (default 1, as the Temporal
	// CLI dev server). It cannot change once a store exists: 0 accepts the stored count,
	// any other value that differs from it fails Start.
	NumHistoryShards int32
	// DynamicConfig overrides server dynamic config, keyed by setting name (e.g.
	// "history.hostLevelCacheMaxSize"), on top of DefaultDynamicConfig.
	DynamicConfig map[string]any
	// SQLitePragmas override DefaultSQLitePragmas (file store) by pragma name, e.g.
	// {"synchronous": "full"}; see AllowedSQLitePragmas.
	SQLitePragmas map[string]string
	// SQLiteMaxConns is the size of the SQLite connection pool of the file store (default 1,
	// the server's). More than one needs journal_mode=wal and helps concurrent reads.
	SQLiteMaxConns int

	// AllVisibilityIndexes keeps every index of the server's visibility schema in a new
	// SQLite file store, for list filters qesflow and the Web UI do not use; by default a new
	// store keeps only the indexes they query (see keptVisibilityIndexes).
	AllVisibilityIndexes bool

	// NoStatementCache runs the server's SQLite queries without qesflow's prepared-statement
	// cache, each statement prepared anew as the server's SQLite plugin does by itself.
	NoStatementCache bool
}

// DefaultSQLitePragmas apply to the SQLite file store (DataDir).
//
//   - journal_mode=wal: readers do not block the writer, and a commit appends to the
//     write-ahead log instead of rewriting pages.
//   - synchronous=normal: in WAL mode a commit is durable once written to the log, so a
//     crash or kill of the process loses nothing; only an operating-system crash or power
//     loss can roll back the last transactions (never corrupting the file). Set
//     {"synchronous": "full"} to fsync every commit and survive power loss too, at the cost
//     of one fsync per commit.
//   - busy_timeout=10000: wait up to 10 s for a lock held by another connection (a second
//     pooled connection, or a sqlite3 shell reading the file) instead of failing at once.
//   - wal_autocheckpoint=0: commits never copy the log into the database file themselves;
//     a background checkpointer on its own connection does it once a second (see
//     checkpointer), and a last checkpoint at Stop empties the log. SQLite's automatic
//     checkpoint runs inside the commit that crosses 1,000 pages and stalls every other query
//     of the server's single connection meanwhile. A value above 0 brings automatic
//     checkpoints back (the background ones still run).
//   - journal_size_limit=67108864: once a checkpoint has copied the whole log and a commit
//     starts it over, a log file grown past 64 MiB by a burst is cut back to that size.
//   - visibility indexes (not a pragma, applied with them): a new file store keeps only the
//     indexes of executions_visibility that qesflow and the Web UI query (keptVisibilityIndexes
//     and those of the columns of the namespace's search attributes). SQLite maintains each of
//     them on every visibility write (start, search attribute upsert, close). Dropping an index
//     never changes a query's result, only its speed. An existing file keeps the indexes it has
//     (no migration).
var DefaultSQLitePragmas = map[string]string{
	"journal_mode": "wal",
	"synchronous":  "normal",
	"busy_timeout": "10000",

	"wal_autocheckpoint": "0",
	"journal_size_limit": "67108864",
}

// AllowedSQLitePragmas are the pragmas Config.SQLitePragmas may set.
var AllowedSQLitePragmas = []string{
	"busy_timeout", "cache_size", "journal_mode", "journal_size_limit", "mmap_size",
	"synchronous", "temp_store", "wal_autocheckpoint",
}

// DefaultDynamicConfig is the server dynamic config Start applies before Config.DynamicConfig.
//
//   - frontend.namespaceRPS.visibility=100: the UI lists and counts workflows on every page;
//     the server default of 10 visibility requests per second throttles it.
//   - matching.numTaskqueueWritePartitions=1: new tasks go to the root partition of their task
//     queue instead of one of 4. With the few pollers of one machine, a task written to a
//     partition no poller is waiting on waits to be forwarded (at most 10 a second,
//     matching.forwarderMaxRatePerSecond), so some new workflows waited seconds for their first
//     workflow task. The read partitions stay at 4, so tasks that a
//     store of an earlier version left in the other partitions are still dispatched (reducing
//     the read partitions would strand them).
//   - history.hostLevelCacheMaxSize=2000: the history service keeps the mutable state of at
//     most 2,000 workflows in memory instead of 128,000 (for an hour each). Onboardings wait
//     for days; a server on a laptop should not hold every waiting one. A workflow that wakes
//     up after eviction is read back from the database once.
//   - history.externalPayloadsEnabled=false: qesflow keeps every payload inline in the history
//     (its codec encrypts them in place) and stores none in external storage, so the server
//     need not walk every payload of every event batch it writes to count external ones.
//
// Not set on purpose: system.forceSearchAttributesCacheRefreshOnRead (which temporaltest
// sets). With SQL visibility the custom search attributes are aliases kept in the namespace,
// not in the cluster metadata that setting re-reads on every access, so it would only add a
// database read to each request. Start instead writes the attributes into a new SQLite store
// before the server starts, and otherwise waits until a visibility query naming all of them
// succeeds.
//
// Left at the server's values after measuring them (issue 24):
//
//   - system.enableActivityEagerExecution (on): a workflow task that schedules an activity on
//     the worker's own task queue gets the activity task back in its completion reply. The SDK
//     asks for it by default; the worker options TaskQueueActivitiesPerSecond and
//     DisableEagerActivities, or an activity on another task queue, turn it off, which costs a
//     round trip through matching per activity.
//   - system.enableEagerWorkflowStart: does not apply, the server refuses eager start inside
//     Update-With-Start.
//   - features qesflow does not use (transition history, CHASM, persistence health signals,
//     per-task-queue metric breakdowns, dispatch latency metrics): switching them off saved no
//     measurable CPU; their code is a negligible part of a flow's profile.
//   - matching.numTaskqueueReadPartitions stays 4 (see numTaskqueueWritePartitions above): one
//     read partition saved no measurable CPU.
var DefaultDynamicConfig = map[string]any{
	"frontend.namespaceRPS.visibility":     100,
	"matching.numTaskqueueWritePartitions": 1,
	"history.hostLevelCacheMaxSize":        2000,
	"history.externalPayloadsEnabled":      false,
}

// persistenceKind is the store selected by a Config.
type persistenceKind int

const (
	sqliteFile persistenceKind = iota
	sqliteMemory
	postgres
)

func (c Config) withDefaults() Config {
	if c.Namespace == "" {
		c.Namespace = DefaultNamespace
	}
	if c.Retention == 0 {
		c.Retention = DefaultRetention
	}
	if c.FrontendIP == "" {
		c.FrontendIP = DefaultFrontendIP
	}
	if c.LogLevel == "" {
		c.LogLevel = DefaultLogLevel
	}
	return c
}

func (c Config) persistence() persistenceKind {
	switch {
	case c.Ephemeral:
		return sqliteMemory
	case c.PostgresDSN != "":
		return postgres
	default:
		return sqliteFile
	}
}

// sqlitePragma is the value of pragma name for the file store: the override or the default.
func (c Config) sqlitePragma(name string) string {
	for key, value := range c.SQLitePragmas {
		if strings.EqualFold(key, name) {
			return value
		}
	}
	return DefaultSQLitePragmas[name]
}

func (c Config) validate() error {
	var errs []error
	selected := 0
	for _, set := range []bool{c.DataDir != "", c.Ephemeral, c.PostgresDSN != ""} {
		if set {
			selected++
		}
	}
	if selected != 1 {
		errs = append(errs, errors.New("set exactly one of DataDir, Ephemeral and PostgresDSN"))
	}
	if net.ParseIP(c.FrontendIP) == nil {
		errs = append(errs, fmt.Errorf("frontend IP %q is not an IP address", c.FrontendIP))
	}
	if ip := net.ParseIP(c.FrontendIP); ip != nil && !ip.IsLoopback() && c.TLS == nil && !c.Insecure {
		errs = append(errs, fmt.Errorf("frontend IP %s is not a loopback address: configure TLS with client certificates "+
			"(anyone who reaches an unauthenticated frontend can signal and approve onboardings), or accept the risk with Insecure", c.FrontendIP))
	}
	if c.TLS != nil {
		if err := c.TLS.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.FrontendPort < 0 || c.FrontendPort > 65535 {
		errs = append(errs, fmt.Errorf("frontend port %d is out of range 0-65535", c.FrontendPort))
	}
	if c.UIPort < UIDisabled || c.UIPort > 65535 {
		errs = append(errs, fmt.Errorf("UI port %d is out of range: want -1 (disabled) or 0-65535", c.UIPort))
	}
	if c.FrontendPort != 0 && c.FrontendPort == c.UIPort {
		errs = append(errs, fmt.Errorf("frontend and UI cannot share port %d", c.FrontendPort))
	}
	if c.Retention < 0 {
		errs = append(errs, fmt.Errorf("retention %s is negative", c.Retention))
	}
	if c.NumHistoryShards < 0 {
		errs = append(errs, fmt.Errorf("history shard count %d is negative", c.NumHistoryShards))
	}
	if c.SQLiteMaxConns < 0 {
		errs = append(errs, fmt.Errorf("SQLite max connections %d is negative", c.SQLiteMaxConns))
	}
	if _, err := zapcore.ParseLevel(c.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	if err := validatePragmas(c.SQLitePragmas); err != nil {
		errs = append(errs, err)
	}
	if c.SQLiteMaxConns > 1 && !strings.EqualFold(c.sqlitePragma("journal_mode"), "wal") {
		errs = append(errs, fmt.Errorf("SQLite max connections %d needs journal_mode=wal", c.SQLiteMaxConns))
	}
	if len(c.SQLitePragmas) > 0 && c.PostgresDSN != "" {
		errs = append(errs, errors.New("SQLite pragmas do not apply to PostgreSQL"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("embedded temporal config: %w", err)
	}
	return nil
}
