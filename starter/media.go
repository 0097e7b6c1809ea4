package starter

import (
	"mime"
	"net/http"
	"strings"
)

// Slugs of the request-shape problems.
const (
	problemUnsupportedMediaType      = "unsupported-media-type"
	problemIdempotencyKeyUnsupported = "idempotency-key-unsupported"
)

// idempotencyKeyDetail says why the header is refused rather than ignored: the API keeps no
// per-key store, and its calls are already safe to repeat, so a client must not believe a
// key adds a guarantee.
const idempotencyKeyDetail = "Idempotency-Key is not supported and no key is stored: POST /v1/onboardings " +
	"is idempotent per userId (repeating it joins the running onboarding), and an operator action that " +
	"no longer applies is refused with 409. Send the request without the header."

// acceptRequestShape answers 400 to an Idempotency-Key header and 415 to a POST whose body
// is not application/json (an empty body without Content-Type is accepted where the body
// is optional); it reports whether the handler may go on.
func acceptRequestShape(w http.ResponseWriter, r *http.Request) bool {
	if _, ok := r.Header["Idempotency-Key"]; ok {
		p := simpleProblem(problemIdempotencyKeyUnsupported, "Idempotency-Key not supported",
			http.StatusBadRequest, idempotencyKeyDetail)
		p.Field = "Idempotency-Key"
		writeProblem(w, r, p)
		return false
	}
	if r.Method != http.MethodPost {
		return true
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" && r.ContentLength == 0 {
		return true
	}
	if !isJSONMediaType(ct) {
		w.Header().Set("Accept-Post", "application/json")
		writeProblem(w, r, simpleProblem(problemUnsupportedMediaType, "Unsupported media type",
			http.StatusUnsupportedMediaType, "The request body must be sent as Content-Type: application/json."))
		return false
	}
	return true
}

// isJSONMediaType accepts application/json with no parameter other than charset=utf-8.
func isJSONMediaType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return false
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return false
		}
	}
	return true
}

// answers is every status the route can answer: its handler's, plus the request-shape
// refusals that acceptRequestShape adds (400 to an Idempotency-Key, 415 to a POST body
// that is not JSON).
func (rt route) answers() []int {
	out := append([]int(nil), rt.statuses...)
	if rt.scope == 0 {
		return out // the public document route reads no header
	}
	if !containsStatus(out, http.StatusBadRequest) {
		out = append(out, http.StatusBadRequest)
	}
	if rt.method == http.MethodPost {
		out = append(out, http.StatusUnsupportedMediaType)
	}
	return out
}

func containsStatus(list []int, status int) bool {
	for _, s := range list {
		if s == status {
			return true
		}
	}
	return false
}
