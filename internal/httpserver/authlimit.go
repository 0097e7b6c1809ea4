package httpserver

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Defaults of AuthLimiter: a client may fail authentication DefaultAuthFailureBurst times in
// a row, then once per DefaultAuthFailureInterval.
const (
	DefaultAuthFailureBurst    = 20
	DefaultAuthFailureInterval = 3 * time.Second
	// maxAuthClients bounds the clients tracked; the least recently failing are forgotten.
	maxAuthClients = 10000
)

// AuthLimiter limits failed authentication attempts per client (remote IP address): each
// client has a bucket of Burst failures that refills one every Interval. A client whose
// bucket is empty is refused every request that needs authentication, the right key or not,
// until the bucket refills, so guessing keys costs time. Successful requests cost nothing.
//
// Behind a proxy or load balancer every client has the proxy's address; put the limit on the
// proxy there as well.
type AuthLimiter struct {
	Burst    int
	Interval time.Duration
	now      func() time.Time

	mu      sync.Mutex
	clients map[string]*authBucket
}

type authBucket struct {
	tokens float64
	at     time.Time
}

// NewAuthLimiter returns a limiter with the defaults.
func NewAuthLimiter() *AuthLimiter {
	return &AuthLimiter{Burst: DefaultAuthFailureBurst, Interval: DefaultAuthFailureInterval}
}

// ClientIP is the host of r's remote address.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Blocked reports whether r's client has no failed attempt left, and after how long it has.
func (l *AuthLimiter) Blocked(r *http.Request) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(ClientIP(r), false)
	if b == nil || b.tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - b.tokens) * float64(l.Interval)), true
}

// Failed records a failed authentication attempt of r's client.
func (l *AuthLimiter) Failed(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.bucket(ClientIP(r), true); b.tokens >= 1 {
		b.tokens--
	}
}

// bucket returns ip's bucket refilled to now; create makes a missing one.
func (l *AuthLimiter) bucket(ip string, create bool) *authBucket {
	now := time.Now()
	if l.now != nil {
		now = l.now()
	}
	if l.clients == nil {
		l.clients = map[string]*authBucket{}
	}
	b, ok := l.clients[ip]
	if !ok {
		if !create {
			return nil
		}
		if len(l.clients) >= maxAuthClients {
			l.forgetOldest()
		}
		b = &authBucket{tokens: float64(l.Burst), at: now}
		l.clients[ip] = b
		return b
	}
	if l.Interval > 0 {
		b.tokens = math.Min(float64(l.Burst), b.tokens+float64(now.Sub(b.at))/float64(l.Interval))
	}
	b.at = now
	return b
}

func (l *AuthLimiter) forgetOldest() {
	var oldest string
	var at time.Time
	for ip, b := range l.clients {
		if oldest == "" || b.at.Before(at) {
			oldest, at = ip, b.at
		}
	}
	delete(l.clients, oldest)
}

// RetryAfter formats d for a Retry-After header: whole seconds, at least 1.
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(max(1, int(math.Ceil(d.Seconds()))))
}
