package httpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"sync/atomic"
)

// RequestIDHeader carries the request id in and out.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds an incoming request id; longer ones are replaced.
const maxRequestIDLen = 64

type requestKey struct{}

// requestInfo is what the middleware keeps about one request in its context.
type requestInfo struct {
	id string
	// outcomeLogged is set by a handler that logged the request's outcome itself.
	outcomeLogged atomic.Bool
}

func requestInfoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(requestKey{}).(*requestInfo)
	return info
}

// RequestIDFrom returns the request id of the request ctx belongs to, or "".
func RequestIDFrom(ctx context.Context) string {
	if info := requestInfoFrom(ctx); info != nil {
		return info.id
	}
	return ""
}

// OutcomeLogged tells the access log that the handler of the request ctx belongs to logged
// the request's outcome in a line of its own, with the route, status, duration and request
// id: the access log line of that request is then written at debug level only, instead of a
// second line per request saying the same. Call it once the outcome line is written; outside
// a request served by this package it does nothing.
func OutcomeLogged(ctx context.Context) {
	if info := requestInfoFrom(ctx); info != nil {
		info.outcomeLogged.Store(true)
	}
}

// withRequestID keeps a valid incoming X-Request-Id (or generates one), stores it in the
// request context and echoes it in the response.
func withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestKey{}, &requestInfo{id: id})))
	})
}

// validRequestID accepts 1..64 characters of [A-Za-z0-9._:-], so that an id is safe to log
// and to echo in a header.
func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for _, c := range []byte(id) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '.', c == '_', c == ':', c == '-':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return hex.EncodeToString(b[:])
}
