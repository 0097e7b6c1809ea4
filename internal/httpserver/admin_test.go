package httpserver

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// With an admin address, /readyz and /metrics leave the service's listener for their own.
func TestAdminEndpointsOnTheirOwnListener(t *testing.T) {
	s := New(Options{Name: "api", Addr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })})
	require.NoError(t, s.Listen())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	status := func(addr, path string) int {
		c := &http.Client{Timeout: 10 * time.Second}
		var code int
		require.Eventually(t, func() bool {
			resp, err := c.Get("http://" + addr + path)
			if err != nil {
				return false
			}
			resp.Body.Close()
			code = resp.StatusCode
			return true
		}, 10*time.Second, 20*time.Millisecond)
		return code
	}
	require.Equal(t, http.StatusOK, status(s.Addr(), "/healthz"))
	require.Equal(t, http.StatusTeapot, status(s.Addr(), "/readyz"), "not served on the service's listener")
	require.Equal(t, http.StatusTeapot, status(s.Addr(), "/metrics"))
	require.Equal(t, http.StatusOK, status(s.AdminAddr(), "/readyz"))
	require.Equal(t, http.StatusOK, status(s.AdminAddr(), "/metrics"))
	require.Equal(t, http.StatusOK, status(s.AdminAddr(), "/healthz"))
}
