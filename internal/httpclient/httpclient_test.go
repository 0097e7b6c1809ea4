package httpclient

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestNewDefaults(t *testing.T) {
	c := New(0, 0)
	tr := c.Transport.(*http.Transport)
	require.Equal(t, DefaultIdleConnsPerHost, tr.MaxIdleConnsPerHost)
	require.GreaterOrEqual(t, tr.MaxIdleConns, DefaultIdleConnsPerHost)
	require.Zero(t, c.Timeout)
	require.NotSame(t, http.DefaultTransport, c.Transport, "a transport of its own")

	c = New(8, time.Second)
	require.Equal(t, 8, c.Transport.(*http.Transport).MaxIdleConnsPerHost)
	require.Equal(t, time.Second, c.Timeout)
}

// TestReusesConnections sends rounds of concurrent requests to one host: every round after
// the first reuses the connections of the one before, where net/http's default transport
// keeps only 2 and dials again.
func TestReusesConnections(t *testing.T) {
	const concurrent, rounds = 16, 4
	var dialled atomic.Int64
	var inFlight sync.WaitGroup
	var release atomic.Pointer[chan struct{}]
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Done()
		<-*release.Load() // hold every request of the round until all of them arrived
		_, _ = io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	c := New(concurrent, 10*time.Second)
	for range rounds {
		inFlight.Add(concurrent)
		round := make(chan struct{})
		release.Store(&round)
		var done sync.WaitGroup
		for range concurrent {
			done.Go(func() {
				resp, err := c.Get(srv.URL)
				if !assertOK(t, err) {
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				_ = resp.Body.Close()
			})
		}
		inFlight.Wait()
		close(round)
		done.Wait()
	}
	require.EqualValues(t, concurrent, dialled.Load(), "connections dialled over %d rounds of %d requests", rounds, concurrent)
}

func assertOK(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Errorf("request: %v", err)
		return false
	}
	return true
}
