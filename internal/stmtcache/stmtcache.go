// Package stmtcache wraps a database/sql driver so that each connection keeps the statements
// it executed prepared, up to a bound, and reuses them when the same SQL text comes again.
//
// database/sql prepares a statement anew for every Exec and Query that does not use an
// explicit *sql.Stmt, and the driver finalizes it afterwards; for a store that runs the same
// few dozen statements all the time, such as the Temporal server's SQLite store, parsing and
// planning them again is a large part of each query's cost.
//
// A cached statement is used by one query at a time: while the rows of a query on it are
// open, the same SQL text gets a statement of its own, closed with its rows. Evicting a
// statement whose rows are open closes it once they close. Closing a connection closes its
// statements. The driver's statements must stay correct when the schema changes (SQLite's
// sqlite3_prepare_v2 statements re-prepare themselves).
package stmtcache

import (
	"container/list"
	"context"
	"database/sql/driver"
	"errors"
	"sync"
)

// Connector opens connections of base to dsn, each with a cache of up to size statements.
type Connector struct {
	base driver.Driver
	dsn  string
	size int
}

// NewConnector returns a connector for sql.OpenDB; size must be positive.
func NewConnector(base driver.Driver, dsn string, size int) (*Connector, error) {
	if size < 1 {
		return nil, errors.New("stmtcache: the cache size must be at least 1")
	}
	return &Connector{base: base, dsn: dsn, size: size}, nil
}

// Connect opens a connection of the base driver and gives it a statement cache.
func (c *Connector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.base.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newConn(conn, c.size)
}

// Driver is the base driver.
func (c *Connector) Driver() driver.Driver { return c.base }

// baseConn is what the cache needs of a driver connection.
type baseConn interface {
	driver.Conn
	driver.ConnPrepareContext
	driver.ConnBeginTx
}

// conn is a driver connection with its statement cache. database/sql uses a connection from
// one goroutine at a time; mu guards the cache against rows closed from another one.
type conn struct {
	base baseConn
	size int

	mu     sync.Mutex
	lru    *list.List               // of *entry, most recently used first
	byText map[string]*list.Element // SQL text → its element in lru
	closed bool
}

// entry is one cached statement.
type entry struct {
	query string
	stmt  driver.Stmt
	busy  bool // rows of a query on it are open
	gone  bool // evicted or its connection closed while busy: close it when its rows close
}

func newConn(c driver.Conn, size int) (driver.Conn, error) {
	bc, ok := c.(baseConn)
	if !ok {
		_ = c.Close()
		return nil, errors.New("stmtcache: the driver's connections do not implement PrepareContext and BeginTx")
	}
	return &conn{base: bc, size: size, lru: list.New(), byText: map[string]*list.Element{}}, nil
}

// Prepare and PrepareContext give database/sql a statement of its own, outside the cache:
// it closes the statements it prepares.
func (c *conn) Prepare(query string) (driver.Stmt, error) { return c.base.Prepare(query) }

func (c *conn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.base.PrepareContext(ctx, query)
}

// Begin is required by driver.Conn; database/sql calls BeginTx.
func (c *conn) Begin() (driver.Tx, error) {
	return c.base.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *conn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.base.BeginTx(ctx, opts)
}

// ExecContext runs query on its cached statement.
func (c *conn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	defer c.release(e)
	ex, ok := e.stmt.(driver.StmtExecContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	return ex.ExecContext(ctx, args)
}

// QueryContext runs query on its cached statement; the statement is not reused until the
// rows are closed.
func (c *conn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	e, err := c.acquire(ctx, query)
	if err != nil {
		return nil, err
	}
	q, ok := e.stmt.(driver.StmtQueryContext)
	if !ok {
		c.release(e)
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		c.release(e)
		return nil, err
	}
	return &cachedRows{Rows: rows, release: func() { c.release(e) }}, nil
}

// acquire returns the cached statement of query, marked busy, preparing it if needed; when
// the cached one is busy it returns a new statement outside the cache.
func (c *conn) acquire(ctx context.Context, query string) (*entry, error) {
	c.mu.Lock()
	if el, ok := c.byText[query]; ok {
		e := el.Value.(*entry)
		if !e.busy {
			e.busy = true
			c.lru.MoveToFront(el)
			c.mu.Unlock()
			return e, nil
		}
		c.mu.Unlock()
		stmt, err := c.base.PrepareContext(ctx, query)
		if err != nil {
			return nil, err
		}
		return &entry{query: query, stmt: stmt, busy: true, gone: true}, nil
	}
	c.mu.Unlock()
	stmt, err := c.base.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	e := &entry{query: query, stmt: stmt, busy: true}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		e.gone = true
		return e, nil
	}
	c.byText[query] = c.lru.PushFront(e)
	c.evict()
	return e, nil
}

// evict closes the least recently used statements beyond the cache size; a busy one leaves
// the cache now and is closed when its rows close. c.mu is held.
func (c *conn) evict() {
	for c.lru.Len() > c.size {
		el := c.lru.Back()
		e := el.Value.(*entry)
		c.lru.Remove(el)
		delete(c.byText, e.query)
		if e.busy {
			e.gone = true
			continue
		}
		_ = e.stmt.Close()
	}
}

// release marks e free again, closing it when it left the cache while busy.
func (c *conn) release(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.busy = false
	if e.gone {
		_ = e.stmt.Close()
	}
}

// Close closes the cached statements (a busy one when its rows close), then the connection.
func (c *conn) Close() error {
	c.mu.Lock()
	var errs []error
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*entry)
		if e.busy {
			e.gone = true
			continue
		}
		errs = append(errs, e.stmt.Close())
	}
	c.lru.Init()
	clear(c.byText)
	c.closed = true
	c.mu.Unlock()
	return errors.Join(append(errs, c.base.Close())...)
}

// Len is the number of cached statements.
func (c *conn) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}

// The optional interfaces of the base connection pass through, so that database/sql treats
// the connection as it treats the driver's own.

func (c *conn) Ping(ctx context.Context) error {
	if p, ok := c.base.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *conn) ResetSession(ctx context.Context) error {
	if r, ok := c.base.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *conn) IsValid() bool {
	if v, ok := c.base.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

func (c *conn) CheckNamedValue(nv *driver.NamedValue) error {
	if ch, ok := c.base.(driver.NamedValueChecker); ok {
		return ch.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

// cachedRows releases its statement when it is closed.
type cachedRows struct {
	driver.Rows
	once    sync.Once
	release func()
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	r.once.Do(r.release)
	return err
}

// The optional interfaces of the driver's rows pass through (column types, next result set).

func (r *cachedRows) ColumnTypeDatabaseTypeName(i int) string {
	if t, ok := r.Rows.(driver.RowsColumnTypeDatabaseTypeName); ok {
		return t.ColumnTypeDatabaseTypeName(i)
	}
	return ""
}

func (r *cachedRows) HasNextResultSet() bool {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.HasNextResultSet()
	}
	return false
}

func (r *cachedRows) NextResultSet() error {
	if n, ok := r.Rows.(driver.RowsNextResultSet); ok {
		return n.NextResultSet()
	}
	return errors.New("stmtcache: no next result set")
}

var (
	_ driver.Connector          = (*Connector)(nil)
	_ driver.ExecerContext      = (*conn)(nil)
	_ driver.QueryerContext     = (*conn)(nil)
	_ driver.ConnBeginTx        = (*conn)(nil)
	_ driver.ConnPrepareContext = (*conn)(nil)
	_ driver.Pinger             = (*conn)(nil)
	_ driver.SessionResetter    = (*conn)(nil)
	_ driver.Validator          = (*conn)(nil)
	_ driver.NamedValueChecker  = (*conn)(nil)
)
