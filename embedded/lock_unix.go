//go:build unix

package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// LockFileName is the file in Config.DataDir that a running server holds locked.
const LockFileName = "temporal.lock"

// ErrDataDirInUse reports that another server, in this process or another, uses the DataDir.
var ErrDataDirInUse = errors.New("data directory is in use by another Temporal server")

// dirLock is an exclusive advisory lock on a data directory.
type dirLock struct{ f *os.File }

// lockDataDir takes the lock of dir without waiting. Two servers on one SQLite file would
// both believe they own every history shard.
func lockDataDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock file %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrDataDirInUse, dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &dirLock{f: f}, nil
}

// release drops the lock; the lock file stays.
func (l *dirLock) release() error {
	if l == nil {
		return nil
	}
	return l.f.Close()
}
