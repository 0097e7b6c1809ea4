package treezor_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
	"github.com/qesflow/qesflow/treezorsim/simtest"
)

// The client against the simulator: token reuse and renewal, scopes and failures as
// Treezor produces them (the exact bytes are client_test.go's wire tests).

func TestClientReusesOneTokenAcrossCalls(t *testing.T) {
	tz := simtest.Start(t, treezorsim.Config{})
	user := tz.User("")
	c := tz.Client(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.GetUser(ctx, user)
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	_, err := c.InitiateQES(ctx, user, "", "tag")
	require.NoError(t, err)
	require.Equal(t, 1, tz.Stats().TokensIssued, "concurrent and later calls share one token")
}

// TestClientDefaultScopesReadAndWrite: without Scopes the token has read_only and
// read_write, so that GET and PUT/POST both pass Treezor's scope split.
func TestClientDefaultScopesReadAndWrite(t *testing.T) {
	tz := simtest.Start(t, treezorsim.Config{})
	user := tz.User("")
	c := tz.Client(t, func(cfg *treezor.Config) { cfg.Scopes = nil })
	_, err := c.GetUser(context.Background(), user)
	require.NoError(t, err)
	_, err = c.RequestKYCReview(context.Background(), user, "tag")
	require.NoError(t, err)

	writeOnly := tz.Client(t, func(cfg *treezor.Config) { cfg.Scopes = []string{treezorsim.ScopeReadWrite} })
	_, err = writeOnly.GetUser(context.Background(), user)
	_, reason := treezor.Classify(err)
	require.Equal(t, treezor.ReasonForbidden, reason, "read_write alone cannot read: %v", err)
}

// TestClientRenewsARevokedToken: a 401 on a cached token gets one new token and one retry;
// a second 401 is given up, not retryable.
func TestClientRenewsARevokedToken(t *testing.T) {
	tz := simtest.Start(t, treezorsim.Config{})
	user := tz.User("")
	c := tz.Client(t)
	ctx := context.Background()
	first, err := c.InitiateQES(ctx, user, "", "tag")
	require.NoError(t, err)

	tz.RevokeTokens()
	again, err := c.InitiateQES(ctx, user, "", "tag")
	require.NoError(t, err)
	require.Equal(t, first, again, "the retry resent the body: the accessTag replays the first answer")
	require.Equal(t, 2, tz.Stats().TokensIssued)

	tz.Fail(simtest.RouteGetUser, http.StatusUnauthorized, 0)
	_, err = c.GetUser(ctx, user)
	var apiErr *treezor.APIError
	require.ErrorAs(t, err, &apiErr)
	require.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	require.False(t, treezor.IsRetryable(err))
	require.Equal(t, 3, tz.Stats().TokensIssued, "one renewal, then it gives up")
}

// TestClientTimesOutASlowAnswer: an answer later than the client's timeout is a retryable
// timeout.
func TestClientTimesOutASlowAnswer(t *testing.T) {
	tz := simtest.Start(t, treezorsim.Config{})
	user := tz.User("")
	c := tz.Client(t, func(cfg *treezor.Config) { cfg.Timeout = 200 * time.Millisecond })
	tz.SetRouteFault(simtest.RouteGetUser, treezorsim.RouteFault{Delay: time.Minute, Times: 1})
	_, err := c.GetUser(context.Background(), user)
	_, reason := treezor.Classify(err)
	require.Equal(t, treezor.ReasonTimeout, reason, "%v", err)
	require.True(t, treezor.IsRetryable(err))
	_, err = c.GetUser(context.Background(), user)
	require.NoError(t, err)
}
