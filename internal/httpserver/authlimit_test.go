package httpserver

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuthLimiterBlocksAClientAfterItsBurst(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := &AuthLimiter{Burst: 3, Interval: 2 * time.Second, now: func() time.Time { return now }}
	attacker := httptest.NewRequest("GET", "/", nil)
	attacker.RemoteAddr = "203.0.113.7:5000"
	other := httptest.NewRequest("GET", "/", nil)
	other.RemoteAddr = "198.51.100.2:6000"

	for i := range 3 {
		_, blocked := l.Blocked(attacker)
		require.False(t, blocked, "attempt %d", i+1)
		l.Failed(attacker)
	}
	wait, blocked := l.Blocked(attacker)
	require.True(t, blocked)
	require.Equal(t, 2*time.Second, wait)
	require.Equal(t, "2", RetryAfter(wait))
	_, blocked = l.Blocked(other)
	require.False(t, blocked, "another client is not affected")

	now = now.Add(2 * time.Second)
	_, blocked = l.Blocked(attacker)
	require.False(t, blocked, "one attempt refilled")
	l.Failed(attacker)
	_, blocked = l.Blocked(attacker)
	require.True(t, blocked)
}
