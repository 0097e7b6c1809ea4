//go:build !unix

package embedded

import "errors"

// LockFileName is the file in Config.DataDir that a running server holds locked (unused on
// this platform).
const LockFileName = "temporal.lock"

// ErrDataDirInUse reports that another server uses the DataDir (never returned on this
// platform, which has no advisory file locks in the standard library).
var ErrDataDirInUse = errors.New("data directory is in use by another Temporal server")

type dirLock struct{}

// lockDataDir does nothing on this platform.
func lockDataDir(string) (*dirLock, error) { return &dirLock{}, nil }

func (*dirLock) release() error { return nil }
