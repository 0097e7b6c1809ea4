package stmtcache

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite" // the "sqlite" driver the Temporal server's SQLite store uses
)

// counting wraps the sqlite driver to count the statements prepared and closed.
type counting struct {
	driver.Driver
	prepared, closed atomic.Int64
}

type countingConn struct {
	baseConn
	d *counting
}

type countingStmt struct {
	driver.Stmt
	d *counting
}

func (d *counting) Open(name string) (driver.Conn, error) {
	c, err := d.Driver.Open(name)
	if err != nil {
		return nil, err
	}
	return countingConn{baseConn: c.(baseConn), d: d}, nil
}

func (c countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	s, err := c.baseConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	c.d.prepared.Add(1)
	return countingStmt{Stmt: s, d: c.d}, nil
}

func (s countingStmt) Close() error {
	s.d.closed.Add(1)
	return s.Stmt.Close()
}

func (s countingStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s countingStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}

// open opens a fresh database file through a cache of size statements per connection.
func open(t *testing.T, size, conns int) (*sql.DB, *counting) {
	t.Helper()
	plain, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	base := &counting{Driver: plain.Driver()}
	require.NoError(t, plain.Close())
	dsn := "file:" + filepath.Join(t.TempDir(), "t.db") + "?_pragma=journal_mode(wal)&_pragma=busy_timeout(5000)"
	connector, err := NewConnector(base, dsn, size)
	require.NoError(t, err)
	db := sql.OpenDB(connector)
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	require.NoError(t, err)
	return db, base
}

func names(t *testing.T, db interface {
	Query(string, ...any) (*sql.Rows, error)
}, query string, args ...any) []string {
	t.Helper()
	rows, err := db.Query(query, args...)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		require.NoError(t, rows.Scan(&s))
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

func TestSameResultsAsTheDriverAlone(t *testing.T) {
	cached, _ := open(t, 16, 1)
	plain, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "p.db"))
	require.NoError(t, err)
	defer plain.Close()
	_, err = plain.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL)`)
	require.NoError(t, err)

	for _, db := range []*sql.DB{cached, plain} {
		for i := range 50 {
			res, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name`,
				i%20, fmt.Sprintf("name-%d", i))
			require.NoError(t, err)
			n, err := res.RowsAffected()
			require.NoError(t, err)
			require.EqualValues(t, 1, n)
		}
	}
	for _, q := range []struct {
		query string
		args  []any
	}{
		{`SELECT name FROM t ORDER BY id`, nil},
		{`SELECT name FROM t WHERE id > ? ORDER BY id DESC`, []any{7}},
		{`SELECT name FROM t WHERE id = ?`, []any{99}},
		{`SELECT name FROM t WHERE name LIKE ? ORDER BY name`, []any{"name-4%"}},
	} {
		t.Run(q.query, func(t *testing.T) {
			for range 3 { // the second and third run on the cached statement
				require.Equal(t, names(t, plain, q.query, q.args...), names(t, cached, q.query, q.args...))
			}
		})
	}
}

func TestAStatementIsPreparedOncePerConnection(t *testing.T) {
	db, base := open(t, 16, 1)
	before := base.prepared.Load()
	for i := range 100 {
		_, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, i, "x")
		require.NoError(t, err)
		var n int
		require.NoError(t, db.QueryRow(`SELECT count(*) FROM t WHERE id <= ?`, i).Scan(&n))
		require.Equal(t, i+1, n)
	}
	require.EqualValues(t, 2, base.prepared.Load()-before)
}

func TestEvictionClosesTheLeastRecentlyUsed(t *testing.T) {
	db, base := open(t, 2, 1)
	ctx := context.Background()
	c, err := db.Conn(ctx)
	require.NoError(t, err)
	defer c.Close()
	queries := []string{`SELECT 1`, `SELECT 2`, `SELECT 3`}
	closedBefore := base.closed.Load()
	for _, q := range queries {
		var n int
		require.NoError(t, c.QueryRowContext(ctx, q).Scan(&n))
	}
	require.Equal(t, 2, cacheLen(t, c))
	// The CREATE TABLE of open ran on this connection too: it and SELECT 1 were evicted.
	require.EqualValues(t, 2, base.closed.Load()-closedBefore, "CREATE TABLE and SELECT 1 evicted and closed")
	// SELECT 3 and SELECT 2 are cached: no new prepare; SELECT 1 is prepared again.
	prepared := base.prepared.Load()
	for _, q := range []string{`SELECT 3`, `SELECT 2`} {
		var n int
		require.NoError(t, c.QueryRowContext(ctx, q).Scan(&n))
	}
	require.Equal(t, prepared, base.prepared.Load())
	var n int
	require.NoError(t, c.QueryRowContext(ctx, `SELECT 1`).Scan(&n))
	require.Equal(t, 1, n)
	require.Equal(t, prepared+1, base.prepared.Load())
}

func TestAStatementWithOpenRowsIsNotReused(t *testing.T) {
	db, base := open(t, 1, 1)
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	for i := range 5 {
		_, err := tx.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, i, fmt.Sprint("n", i))
		require.NoError(t, err)
	}
	const q = `SELECT name FROM t WHERE id >= ? ORDER BY id`
	outer, err := tx.Query(q, 0)
	require.NoError(t, err)
	var got []string
	for outer.Next() {
		var s string
		require.NoError(t, outer.Scan(&s))
		got = append(got, s)
		// The same text while outer's rows are open: a statement of its own.
		require.Equal(t, []string{"n3", "n4"}, names(t, tx, q, 3))
		// Another text evicts q's busy statement (size 1); outer's rows go on unharmed.
		require.Equal(t, []string{"n0"}, names(t, tx, `SELECT name FROM t WHERE id = ?`, 0))
	}
	require.NoError(t, outer.Err())
	require.NoError(t, outer.Close())
	require.Equal(t, []string{"n0", "n1", "n2", "n3", "n4"}, got)
	require.NoError(t, tx.Commit())
	require.Equal(t, base.prepared.Load()-1, base.closed.Load(), "all but the one cached statement closed")
}

func TestClosingTheConnectionClosesItsStatements(t *testing.T) {
	db, base := open(t, 16, 2)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				_, err := db.Exec(`INSERT INTO t (id, name) VALUES (?, ?)`, g*1000+i, "x")
				require.NoError(t, err)
				var n int
				require.NoError(t, db.QueryRow(`SELECT count(*) FROM t WHERE id >= ?`, g*1000).Scan(&n))
				require.GreaterOrEqual(t, n, i+1)
			}
		})
	}
	wg.Wait()
	var n int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM t`).Scan(&n))
	require.Equal(t, 200, n)
	require.Less(t, base.closed.Load(), base.prepared.Load(), "statements stay cached while the connections are open")
	require.NoError(t, db.Close())
	require.Equal(t, base.prepared.Load(), base.closed.Load(), "every prepared statement closed with its connection")
}

func TestCachedStatementsFollowSchemaChanges(t *testing.T) {
	db, _ := open(t, 16, 1)
	_, err := db.Exec(`INSERT INTO t (id, name) VALUES (1, 'a')`)
	require.NoError(t, err)
	columns := func() []string {
		rows, err := db.Query(`SELECT * FROM t`)
		require.NoError(t, err)
		defer rows.Close()
		cols, err := rows.Columns()
		require.NoError(t, err)
		return cols
	}
	require.Equal(t, []string{"id", "name"}, columns())
	_, err = db.Exec(`ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'e'`)
	require.NoError(t, err)
	require.Equal(t, []string{"id", "name", "extra"}, columns())
	_, err = db.Exec(`DROP TABLE t`)
	require.NoError(t, err)
	_, err = db.Query(`SELECT * FROM t`)
	require.ErrorContains(t, err, "no such table")
	_, err = db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, other TEXT)`)
	require.NoError(t, err)
	require.Equal(t, []string{"id", "other"}, columns())
}

// cacheLen is the number of statements cached on c's connection.
func cacheLen(t *testing.T, c *sql.Conn) int {
	t.Helper()
	n := -1
	require.NoError(t, c.Raw(func(dc any) error {
		n = dc.(*conn).Len()
		return nil
	}))
	return n
}
