package starter

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/internal/httpserver"
	"github.com/qesflow/qesflow/internal/testenv"
)

// A client that keeps presenting wrong keys gets 429 with Retry-After once it has used its
// failures, then even with the right key, until the wait is over; compliance reads are
// audited with the key's id and the caller's address, never the key.
func TestFailedAuthenticationsAreLimited(t *testing.T) {
	ts := testenv.NewTemporal(t)
	h := startAPI(t, ts.GetDefaultClient(), Config{AuthLimiter: &httpserver.AuthLimiter{Burst: 5, Interval: 300 * time.Millisecond}})

	r := h.do(http.MethodGet, "/v1/onboardings/u-1/details", keyCompliance, nil)
	require.Equal(t, http.StatusNotFound, r.Status, "%s", r.Body)
	audit := h.logs.FilterMessage("compliance access").All()
	require.Len(t, audit, 1)
	require.Equal(t, KeyID(keyCompliance), audit[0].ContextMap()["keyId"])
	require.Contains(t, audit[0].ContextMap()["remoteAddr"], "127.0.0.1:")

	for i := range 5 {
		r := h.do(http.MethodGet, "/v1/onboardings/u-1", "wrong-key-"+strconv.Itoa(i), nil)
		require.Equal(t, http.StatusUnauthorized, r.Status, "attempt %d", i+1)
	}
	r = h.do(http.MethodGet, "/v1/onboardings/u-1", keyOnboarding, nil)
	require.Equal(t, http.StatusTooManyRequests, r.Status, "%s", r.Body)
	require.NotEmpty(t, r.Header.Get("Retry-After"))
	require.Equal(t, ProblemTypePrefix+problemTooManyFailures, r.problem(t).Type)
	require.Eventually(t, func() bool {
		return h.do(http.MethodGet, "/v1/onboardings/u-1", keyOnboarding, nil).Status == http.StatusNotFound
	}, 5*time.Second, 100*time.Millisecond, "the right key works again after the wait")
	h.requireLogsClean(keyCompliance, keyOnboarding)
}
