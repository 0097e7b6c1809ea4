package treezorsim

import (
	"context"
	"sync"
)

// busyCounter counts outstanding work (queued deliveries, scheduled decisions) and lets
// callers wait until there is none.
type busyCounter struct {
	mu   sync.Mutex
	n    int
	idle chan struct{} // closed while n == 0
}

func (b *busyCounter) init() {
	b.idle = make(chan struct{})
	close(b.idle)
}

// add adds n (negative: removes -n) outstanding items.
func (b *busyCounter) add(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	was := b.n
	b.n = max(b.n+n, 0)
	switch {
	case was == 0 && b.n > 0:
		b.idle = make(chan struct{})
	case was > 0 && b.n == 0:
		close(b.idle)
	}
}

func (b *busyCounter) done() { b.add(-1) }

func (b *busyCounter) pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func (b *busyCounter) waitIdle(ctx context.Context) error {
	b.mu.Lock()
	idle := b.idle
	b.mu.Unlock()
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
