package embedded

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync"
	"time"

	"go.uber.org/zap"
)

// checkpointInterval is how often the background checkpointer copies the write-ahead log of
// a SQLite file store into the database file.
const checkpointInterval = time.Second

// checkpointTimeout bounds one checkpoint, so that a stuck file system cannot hold Stop.
const checkpointTimeout = 30 * time.Second

// checkpointer copies the write-ahead log of a SQLite file store into the database file from
// its own connection, once a checkpointInterval, so that the server's connection never does.
//
// SQLite's own automatic checkpoint runs inside the commit that pushes the log past 1,000
// pages: that commit, and with the server's single connection every other read and write of
// the server, waits while the pages are copied and the file is synced (tens of milliseconds,
// hundreds when the disk is busy). With wal_autocheckpoint=0 (DefaultSQLitePragmas) commits
// only append to the log, and the checkpointer does the copying beside them. A PASSIVE
// checkpoint takes no lock a writer waits for; once it has copied the whole log, the next
// commit starts the log over from its beginning, so the file stays about as large as one
// interval's writes. A checkpoint changes where committed data is, never whether it is there:
// a crash during one loses nothing.
type checkpointer struct {
	db     *sql.DB
	path   string
	logger *zap.Logger

	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu   sync.Mutex
	last checkpointResult
	runs int
}

// checkpointResult is the answer of PRAGMA wal_checkpoint: whether it could not finish
// because another checkpoint ran, the frames in the log, and how many of them are copied.
type checkpointResult struct {
	Busy         bool
	LogFrames    int
	Checkpointed int
}

// startCheckpointer opens its own connection to the SQLite file at path and checkpoints it
// every interval until stopped.
func startCheckpointer(path string, interval time.Duration, logger *zap.Logger) (*checkpointer, error) {
	params := url.Values{}
	params.Set("mode", "rw")
	// The server's connection may hold the write lock for a moment when the final TRUNCATE
	// checkpoint of stop runs; PASSIVE checkpoints never wait.
	params.Add("_pragma", "busy_timeout=10000")
	db, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	if err != nil {
		return nil, fmt.Errorf("open %s for checkpoints: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open %s for checkpoints: %w", path, err)
	}
	c := &checkpointer{
		db:     db,
		path:   path,
		logger: logger,
		stop:   make(chan struct{}),
		done:   make(chan struct{}),
	}
	go c.loop(interval)
	return c, nil
}

func (c *checkpointer) loop(interval time.Duration) {
	defer close(c.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			if _, err := c.checkpoint("PASSIVE"); err != nil {
				c.logger.Warn("SQLite checkpoint failed; the next one retries",
					zap.String("database", c.path), zap.Error(err))
			}
		}
	}
}

// checkpoint runs PRAGMA wal_checkpoint in mode (PASSIVE, FULL, RESTART or TRUNCATE).
func (c *checkpointer) checkpoint(mode string) (checkpointResult, error) {
	ctx, cancel := context.WithTimeout(context.Background(), checkpointTimeout)
	defer cancel()
	var busy int
	var r checkpointResult
	err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").
		Scan(&busy, &r.LogFrames, &r.Checkpointed)
	if err != nil {
		return r, fmt.Errorf("%s checkpoint of %s: %w", mode, c.path, err)
	}
	r.Busy = busy != 0
	c.mu.Lock()
	c.last, c.runs = r, c.runs+1
	c.mu.Unlock()
	return r, nil
}

// lastResult is the result of the latest checkpoint and how many have run.
func (c *checkpointer) lastResult() (checkpointResult, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.runs
}

// close stops the loop and, with final, copies the whole log and truncates it (call it once
// nothing else writes: the server has stopped), then closes the connection. It is safe to
// call more than once and on a nil checkpointer.
func (c *checkpointer) close(final bool) error {
	if c == nil {
		return nil
	}
	var err error
	c.once.Do(func() {
		close(c.stop)
		<-c.done
		if final {
			_, err = c.checkpoint("TRUNCATE")
		}
		if cerr := c.db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close checkpoint connection to %s: %w", c.path, cerr)
		}
	})
	return err
}
