package treezorsim

import (
	"bytes"
	"net/http"
	"time"

	"go.uber.org/zap"
)

// faultKind is what the API fault chaos does to one call.
type faultKind int

const (
	faultNone  faultKind = iota
	faultError           // answer 5xx before any processing
	faultHang            // process, then hang past the client's timeout
)

var faultStatuses = []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}

// drawFault decides the fate of one API call.
func (s *Simulator) drawFault() (faultKind, int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.chaos
	if c.APIFaultRate == 0 || s.rng.Float64() >= c.APIFaultRate {
		return faultNone, 0, 0
	}
	s.changedLocked()
	if c.APIFaultHangShare > 0 && s.rng.Float64() < c.APIFaultHangShare {
		s.counters.apiHangs++
		return faultHang, 0, c.APIFaultTimeout
	}
	s.counters.apiErrors++
	return faultError, faultStatuses[s.rng.IntN(len(faultStatuses))], 0
}

// withFaults wraps the /v1 API with the API fault chaos. A 5xx fault happens before the
// call is processed (nothing changes); a hang happens after (the effect is real, only the
// answer is late: the client times out, and an accessTag replay returns the same answer).
func (s *Simulator) withFaults(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind, status, hang := s.drawFault()
		switch kind {
		case faultError:
			s.log.Info("api fault injected", zap.Int("status", status))
			writeFault(w, status)
		case faultHang:
			rec := &recorder{header: http.Header{}, status: http.StatusOK}
			next.ServeHTTP(rec, r)
			s.log.Info("api call processed, answer hangs", zap.Duration("hang", hang))
			t := time.NewTimer(hang)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return // the client gave up
			case <-s.ctx.Done():
			}
			rec.writeTo(w)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// writeFault answers a 5xx the way a troubled API and its gateway do: 502 as an HTML page,
// the others as Treezor error bodies.
func writeFault(w http.ResponseWriter, status int) {
	if status == http.StatusBadGateway {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"))
		return
	}
	writeTreezorError(w, status, "unexpected_error", "unexpected_error", http.StatusText(status))
}

// recorder buffers an answer so that it can be sent later.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

func (r *recorder) WriteHeader(status int) {
	if !r.wrote {
		r.status, r.wrote = status, true
	}
}

func (r *recorder) writeTo(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	_, _ = w.Write(r.body.Bytes())
}
