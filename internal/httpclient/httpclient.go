// Package httpclient builds the HTTP clients qesflow uses to call one service at a time
// (Treezor's API, a webhook receiver, the product in the benchmark).
package httpclient

import (
	"net/http"
	"time"
)

// DefaultIdleConnsPerHost is how many idle keep-alive connections a client keeps to one host
// when the caller does not say. net/http keeps 2, so a client with more than 2 requests in
// flight closes the extra connections after use and opens new ones for the next requests:
// a TCP handshake per request and sockets piling up in TIME_WAIT.
const DefaultIdleConnsPerHost = 64

// New returns a client with its own transport (a copy of http.DefaultTransport) that keeps
// up to idlePerHost idle connections to each host (DefaultIdleConnsPerHost when idlePerHost
// is not positive). timeout bounds each request (0: no bound).
func New(idlePerHost int, timeout time.Duration) *http.Client {
	if idlePerHost <= 0 {
		idlePerHost = DefaultIdleConnsPerHost
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = idlePerHost
	if t.MaxIdleConns < idlePerHost {
		t.MaxIdleConns = idlePerHost
	}
	return &http.Client{Transport: t, Timeout: timeout}
}
