package treezorsim

import (
	"net/http"
	"time"
)

// maxAccessTagLen is Treezor's limit on accessTag.
const maxAccessTagLen = 250

// accessTagKey identifies a request for idempotency: the operation, the user and the tag.
type accessTagKey struct{ op, userID, tag string }

// storedAnswer is the first 2xx answer to a tagged request, replayed for 24 h.
type storedAnswer struct {
	status int
	body   []byte
	at     time.Time
}

// replayLocked returns the stored answer of key if it is still fresh. Caller holds s.mu.
func (s *Simulator) replayLocked(key accessTagKey) (storedAnswer, bool) {
	if key.tag == "" {
		return storedAnswer{}, false
	}
	a, ok := s.accessTags[key]
	if !ok {
		return storedAnswer{}, false
	}
	if s.now().Sub(a.at) >= s.cfg.AccessTagTTL {
		delete(s.accessTags, key)
		s.changedLocked()
		return storedAnswer{}, false
	}
	s.counters.accessTagReplays++
	s.changedLocked()
	return a, true
}

// rememberLocked stores the first answer of a tagged request. Only 2xx answers are kept,
// so a request refused (e.g. 428) can succeed later with the same tag. Caller holds s.mu.
func (s *Simulator) rememberLocked(key accessTagKey, status int, body []byte) {
	if key.tag == "" || status < 200 || status > 299 {
		return
	}
	s.accessTags[key] = storedAnswer{status: status, body: body, at: s.now()}
	s.changedLocked()
}

// accessTagOf returns the accessTag of a request: the JSON body field, else the query param.
func accessTagOf(r *http.Request, fromBody string) string {
	if fromBody != "" {
		return fromBody
	}
	return r.URL.Query().Get("accessTag")
}

// writeRaw answers a pre-encoded JSON body.
func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
