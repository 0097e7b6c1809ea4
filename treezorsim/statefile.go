package treezorsim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"
)

// Pacing of the background saver: it writes at most once per saveInterval, rests at least
// saveRestFactor times as long as the last save took (so that saving a large state takes
// at most a quarter of the time), and waits saveRetryInterval after a failed write.
const (
	saveInterval      = 100 * time.Millisecond
	saveRestFactor    = 3
	saveRetryInterval = time.Second
)

// stateSaver is the persistence of a simulator with a StateFile.
type stateSaver struct {
	path  string
	wake  chan struct{} // capacity 1: "the state changed"
	mu    sync.Mutex    // serialises snapshots and writes, so that files are written in order
	final sync.Once     // the save of Close

	lastDuration time.Duration // of the last successful save; guarded by mu
}

// changedLocked records that the state changed, for the background saver. It is cheap: a
// flag and, on the first change since the last snapshot, a non-blocking send.
// Caller holds s.mu.
func (s *Simulator) changedLocked() {
	if s.saver == nil || s.dirty {
		return
	}
	s.dirty = true
	select {
	case s.saver.wake <- struct{}{}:
	default:
	}
}

// Save writes the state file now (it does nothing without a StateFile). The background
// saver and Close save on their own; Save is for callers that want a save at a given point.
func (s *Simulator) Save() error {
	if s.saver == nil {
		return nil
	}
	_, err := s.save(true)
	return err
}

// save writes a snapshot of the state if it changed since the last one (or always with
// force) and reports whether it wrote.
func (s *Simulator) save(force bool) (bool, error) {
	s.saver.mu.Lock()
	defer s.saver.mu.Unlock()
	s.mu.Lock()
	if !force && !s.dirty {
		s.mu.Unlock()
		return false, nil
	}
	start := time.Now()
	st := s.snapshotLocked()
	s.dirty = false
	s.mu.Unlock()

	st.sort()
	n, err := writeStateFile(s.saver.path, st)
	if err != nil {
		s.mu.Lock()
		s.dirty = true // retried by the saver
		s.mu.Unlock()
		return false, fmt.Errorf("save simulator state to %s: %w", s.saver.path, err)
	}
	s.saver.lastDuration = time.Since(start)
	s.log.Debug("simulator state saved", zap.Int64("bytes", n), zap.Duration("took", s.saver.lastDuration))
	return true, nil
}

// runSaver writes the state file after changes, at most once per saveInterval, until Close.
func (s *Simulator) runSaver() {
	defer s.wg.Done()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-s.saver.wake:
		}
		_, err := s.save(false)
		wait := s.restAfterSave()
		if err != nil {
			s.log.Error("simulator state not saved, retrying", zap.Error(err))
			wait = saveRetryInterval
			select {
			case s.saver.wake <- struct{}{}:
			default:
			}
		}
		if !sleep(s.ctx, wait) {
			return
		}
	}
}

// restAfterSave is how long the saver rests after a save.
func (s *Simulator) restAfterSave() time.Duration {
	s.saver.mu.Lock()
	defer s.saver.mu.Unlock()
	return max(saveInterval, saveRestFactor*s.saver.lastDuration)
}

// finalSave is the save of Close (once), after every goroutine stopped.
func (s *Simulator) finalSave() {
	if s.saver == nil {
		return
	}
	s.saver.final.Do(func() {
		if err := s.Save(); err != nil {
			s.log.Error("final save of the simulator state failed", zap.Error(err))
		}
	})
}

// loadState loads Config.StateFile into the simulator and turns persistence on. A missing
// file is created with the (empty) state at once, so that an unwritable path fails here.
// It returns the loaded state's webhook queues and pending reviews for startPersistence.
func (s *Simulator) loadState() (*loadedState, error) {
	path := s.cfg.StateFile
	st, err := readStateFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.saver = newStateSaver(path)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create simulator state file %s: %w", path, err)
		}
		if err := s.Save(); err != nil {
			return nil, fmt.Errorf("create simulator state file: %w", err)
		}
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load simulator state file %s: %w", path, err)
	}
	ls, err := st.rebuild()
	if err != nil {
		return nil, fmt.Errorf("load simulator state file %s: %w", path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users, s.userOrder, s.idents, s.identOrder = ls.users, ls.userOrder, ls.idents, ls.identOrder
	s.documents, s.accessTags, s.tokens = ls.documents, ls.accessTags, ls.tokens
	s.decisions, s.counters = ls.decisions, ls.counters
	s.nextNumID = st.NextNumericID + numericIDGapOnLoad
	if len(st.PresignKey) == 32 {
		s.presignKey = st.PresignKey
	}
	// A fresh random sequence: webhook ids drawn after the last save of a crashed
	// simulator must not be drawn again (Config.Seed only seeds a fresh state).
	seed := uint64(randomSeed())
	s.rng = mrand.New(mrand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	s.saver = newStateSaver(path)
	s.changedLocked() // save the new numeric id gap
	s.log.Info("simulator state loaded", zap.Int("users", len(s.users)),
		zap.Int("identifications", len(s.idents)), zap.Int("queued_webhook_users", len(ls.queues)))
	return ls, nil
}

// startPersistence starts the background saver and resumes what the loaded state (nil for
// a fresh file) left running: webhook deliveries and automatic KYC decisions.
func (s *Simulator) startPersistence(ls *loadedState) {
	s.wg.Add(1)
	go s.runSaver()
	if ls == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, userID := range slices.Sorted(maps.Keys(ls.queues)) {
		s.enqueueLocked(userID, ls.queues[userID])
	}
	for _, userID := range s.userOrder {
		if rr := s.users[userID].review; rr != nil && rr.auto != "" {
			s.scheduleAutoDecisionLocked(rr)
		}
	}
}

func newStateSaver(path string) *stateSaver {
	return &stateSaver{path: path, wake: make(chan struct{}, 1)}
}

// readStateFile reads and decodes a state file of a supported version.
func readStateFile(path string) (*stateV1, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var head struct {
		Version int `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if head.Version != stateVersion {
		return nil, fmt.Errorf("unsupported state version %d (want %d)", head.Version, stateVersion)
	}
	var st stateV1
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return &st, nil
}

// writeStateFile replaces the file at path atomically: it writes a temporary file in the
// same directory (mode 0600), syncs it, renames it over path and syncs the directory. It
// returns the size written.
func writeStateFile(path string, st *stateV1) (n int64, err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return 0, err
	}
	cw := &countingWriter{w: tmp}
	bw := bufio.NewWriterSize(cw, 256<<10)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(st); err != nil {
		return 0, fmt.Errorf("encode: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	if err := tmp.Sync(); err != nil {
		return 0, err
	}
	if err := tmp.Close(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return 0, err
	}
	syncDir(dir)
	return cw.n, nil
}

// syncDir makes a rename durable; best effort (not every platform syncs directories).
func syncDir(dir string) {
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	_ = d.Sync()
	_ = d.Close()
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
