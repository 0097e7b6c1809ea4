package embedded

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// openWALWriter opens path as the server's plugin does with the default pragmas: WAL,
// synchronous=normal, no automatic checkpoints.
func openWALWriter(t *testing.T, path string) *sql.DB {
	t.Helper()
	params := url.Values{}
	params.Set("mode", "rwc")
	for name, value := range DefaultSQLitePragmas {
		params.Add("_pragma", name+"="+value)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?"+params.Encode())
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = db.Close() })
	_, err = db.Exec("CREATE TABLE rows (id INTEGER PRIMARY KEY, body BLOB)")
	require.NoError(t, err)
	return db
}

// writeRows commits n rows of 1 KiB, one transaction each, as the server commits.
func writeRows(t *testing.T, db *sql.DB, n int) {
	t.Helper()
	body := []byte(strings.Repeat("x", 1024))
	for range n {
		_, err := db.Exec("INSERT INTO rows (body) VALUES (?)", body)
		require.NoError(t, err)
	}
}

func walSize(t *testing.T, path string) int64 {
	t.Helper()
	info, err := os.Stat(path + "-wal")
	if os.IsNotExist(err) {
		return 0
	}
	require.NoError(t, err)
	return info.Size()
}

// TestCheckpointerKeepsTheLogSmall checks that with wal_autocheckpoint=0 the log grows with
// every commit until the checkpointer copies it, after which commits reuse it from its start;
// and that the final checkpoint empties it with every row still in the database.
func TestCheckpointerKeepsTheLogSmall(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "wal.db")
	db := openWALWriter(t, path)

	writeRows(t, db, 500)
	first := walSize(t, path)
	writeRows(t, db, 500)
	// Nothing checkpoints yet: the log holds both batches.
	unchecked := walSize(t, path)
	require.Greater(t, unchecked, first+first/2, "without checkpoints the log keeps growing")

	c, err := startCheckpointer(path, 10*time.Millisecond, zap.NewNop())
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.close(false) })
	var both int
	require.Eventually(t, func() bool {
		last, runs := c.lastResult()
		both = last.LogFrames
		return runs > 0 && !last.Busy && last.LogFrames > 0 && last.Checkpointed == last.LogFrames
	}, time.Minute, 10*time.Millisecond, "a checkpoint copies the whole log")

	// The next commits start the log over: two more batches fit in the file the first two
	// made.
	writeRows(t, db, 500)
	require.Eventually(t, func() bool {
		last, _ := c.lastResult()
		return last.LogFrames > 0 && last.Checkpointed == last.LogFrames && last.LogFrames < both
	}, time.Minute, 10*time.Millisecond, "the log restarted from its beginning")
	writeRows(t, db, 500)
	require.LessOrEqual(t, walSize(t, path), unchecked, "the log file did not grow")

	require.NoError(t, c.close(true))
	require.Zero(t, walSize(t, path), "the final checkpoint truncates the log")
	require.NoError(t, c.close(true), "a second close is harmless")

	var rows int
	require.NoError(t, db.QueryRowContext(context.Background(), "SELECT count(*) FROM rows").Scan(&rows))
	require.Equal(t, 2000, rows)
}

// TestCheckpointerRunsOnlyForWALFileStores checks which stores get a checkpointer.
func TestCheckpointerRunsOnlyForWALFileStores(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		cfg  Config
		want bool
	}{
		{"tuned file store", Config{}, true},
		{"file store set to WAL", Config{SQLitePragmas: map[string]string{"journal_mode": "WAL"}}, true},
		{"rollback journal", Config{SQLitePragmas: map[string]string{"journal_mode": "delete"}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.DataDir = filepath.Join(t.TempDir(), "data")
			st, err := openSQLiteFile(tc.cfg.withDefaults(), 1, nil)
			require.NoError(t, err)
			require.Equal(t, tc.want, st.walFile != "")
			require.NoError(t, st.startCheckpoints(zap.NewNop()))
			require.Equal(t, tc.want, st.checkpoints != nil)
			require.NoError(t, st.release(true))
		})
	}
}
