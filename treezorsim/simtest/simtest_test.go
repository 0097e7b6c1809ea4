package simtest

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
	"github.com/qesflow/qesflow/treezorsim"
)

// TestOutageKeepsState: during Down the API gives no answer; after Up it answers again on
// the same address, with the users it had.
func TestOutageKeepsState(t *testing.T) {
	tz := Start(t, treezorsim.Config{})
	user := tz.User("")
	c := tz.Client(t)
	ctx := context.Background()
	_, err := c.GetUser(ctx, user)
	require.NoError(t, err)

	tz.Down()
	_, err = c.GetUser(ctx, user)
	_, reason := treezor.Classify(err)
	require.Equal(t, treezor.ReasonNetwork, reason, "%v", err)

	tz.Up()
	got, err := c.GetUser(ctx, user)
	require.NoError(t, err)
	require.Equal(t, "FR", got.Country)
}

func TestFailCountsDown(t *testing.T) {
	tz := Start(t, treezorsim.Config{})
	user := tz.User("")
	c := tz.Client(t)
	tz.Fail(RouteGetUser, http.StatusServiceUnavailable, 1)
	_, err := c.GetUser(context.Background(), user)
	require.True(t, treezor.IsRetryable(err), "%v", err)
	_, err = c.GetUser(context.Background(), user)
	require.NoError(t, err)
}
