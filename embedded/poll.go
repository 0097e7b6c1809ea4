package embedded

import (
	"context"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// permanent marks an error that retrying cannot fix.
type permanent struct{ error }

func (p permanent) Unwrap() error { return p.error }

// permanentIfInvalid marks a refused request as permanent. The errors of a plain gRPC
// client are statuses, not the SDK's serviceerror types.
func permanentIfInvalid(err error) error {
	switch status.Code(err) {
	case codes.InvalidArgument, codes.FailedPrecondition, codes.PermissionDenied:
		return permanent{err}
	default:
		return err
	}
}

// Poll timing: each attempt gets attemptTimeout; the pause between attempts doubles from
// firstPollPause up to maxPollPause.
const (
	attemptTimeout = 5 * time.Second
	firstPollPause = 50 * time.Millisecond
	maxPollPause   = time.Second
)

// poll calls fn until it succeeds, fails permanently or ctx ends.
func poll(ctx context.Context, what string, fn func(context.Context) error) error {
	pause := firstPollPause
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := fn(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return fmt.Errorf("%s: %w", what, p.error)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), err)
		case <-time.After(pause):
		}
		pause = min(2*pause, maxPollPause)
	}
}
