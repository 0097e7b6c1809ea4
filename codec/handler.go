package codec

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"go.temporal.io/sdk/converter"
	"go.uber.org/zap"
)

// PathPrefix is where qesflow serves the codec endpoint: POST /codec/encode and
// POST /codec/decode. The Temporal UI's codec endpoint setting is then "<base URL>/codec".
const PathPrefix = "/codec/"

// DefaultMaxBodyBytes bounds one encode or decode request (the UI sends the payloads of one
// history page at most).
const DefaultMaxBodyBytes = 8 << 20

// corsAllowHeaders are the request headers the Temporal UI sends to a codec endpoint.
const corsAllowHeaders = "Content-Type, Authorization, Authorization-Extras, X-Namespace"

// HandlerConfig configures the codec HTTP endpoint.
type HandlerConfig struct {
	// Keys encrypt (/encode) and decrypt (/decode). Required.
	Keys *Keyring
	// Tokens are the bearer tokens (Authorization: Bearer <token>) allowed to use the
	// endpoint: operators' tools such as `temporal workflow show --codec-auth`.
	Tokens []string
	// UIOrigins are the origins ("https://temporal-ui.example.com") of the Temporal Web UI the
	// endpoint answers cross-origin requests from (CORS, with credentials). Requests carrying
	// any other Origin are refused with 403. An origin is not a credential: a request from
	// the UI needs a token or a session like any other.
	UIOrigins []string
	// Sessions, when set, admits a decode request that carries a signed-in operator's session
	// cookie (the compliance console's), sent by the Web UI's browser (the UI's codec setting
	// includeCredentials). Such a request must come from one of UIOrigins (a cross-site page
	// cannot set the Origin header, which keeps other pages from using the cookie), and it
	// never encodes: /encode (an encryption oracle) needs a token.
	Sessions SessionAuthenticator
	// Logger receives the audit line of every decode (token id, never the token, and remote
	// address) and every refused request. Nil: none.
	Logger *zap.Logger
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
}

// SessionAuthenticator recognises a browser session as a credential, and may re-issue its
// cookie on w; console.Sessions is one.
type SessionAuthenticator interface {
	AuthenticateSession(w http.ResponseWriter, r *http.Request) (who string, ok bool)
}

// handler is the codec endpoint: CORS and authorisation in front of the SDK's payload codec
// HTTP handler.
type handler struct {
	codec    http.Handler
	log      *zap.Logger
	tokens   [][sha256.Size]byte
	origins  map[string]bool
	sessions SessionAuthenticator
	maxBytes int64
}

// NewHandler returns the codec endpoint: POST {prefix}/encode and POST {prefix}/decode with a
// JSON body {"payloads":[…]} (the Temporal remote codec protocol), OPTIONS for CORS preflight.
// Mount it at PathPrefix.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Keys == nil {
		return nil, errors.New("codec endpoint: no keyring")
	}
	h := &handler{
		codec:    converter.NewPayloadCodecHTTPHandler(New(cfg.Keys)),
		origins:  map[string]bool{},
		sessions: cfg.Sessions,
		maxBytes: cfg.MaxBodyBytes,
		log:      cfg.Logger,
	}
	if h.log == nil {
		h.log = zap.NewNop()
	}
	if h.maxBytes <= 0 {
		h.maxBytes = DefaultMaxBodyBytes
	}
	for i, t := range cfg.Tokens {
		if strings.TrimSpace(t) == "" {
			return nil, fmt.Errorf("codec endpoint: token %d is empty", i+1)
		}
		h.tokens = append(h.tokens, sha256.Sum256([]byte(t)))
	}
	for _, o := range cfg.UIOrigins {
		origin, err := NormalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("codec endpoint: %w", err)
		}
		h.origins[origin] = true
	}
	if len(h.tokens) == 0 && (h.sessions == nil || len(h.origins) == 0) {
		return nil, errors.New("codec endpoint: nobody could use it: give bearer tokens, or sessions and the UI origins they come from")
	}
	return h, nil
}

// NormalizeOrigin checks that o is a web origin (scheme://host[:port], no path) and returns it
// as browsers send it in the Origin header.
func NormalizeOrigin(o string) (string, error) {
	u, err := url.Parse(strings.TrimSuffix(strings.TrimSpace(o), "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("UI origin %q: want scheme://host[:port], e.g. https://temporal-ui.example.com", o)
	}
	return strings.ToLower(u.Scheme + "://" + u.Host), nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	fromUI := false
	if origin != "" {
		if !h.origins[strings.ToLower(origin)] {
			http.Error(w, "codec endpoint: origin not allowed", http.StatusForbidden)
			return
		}
		fromUI = true
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	switch r.Method {
	case http.MethodOptions:
		h.preflight(w)
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		http.Error(w, "codec endpoint: use POST", http.StatusMethodNotAllowed)
		return
	}
	if !strings.HasSuffix(r.URL.Path, "/encode") && !strings.HasSuffix(r.URL.Path, "/decode") {
		http.NotFound(w, r)
		return
	}
	tokenID, ok := h.authorised(w, r, fromUI)
	if !ok {
		h.log.Warn("codec endpoint: refused", zap.String("path", r.URL.Path), zap.String("remoteAddr", r.RemoteAddr),
			zap.Bool("origin", origin != ""))
		w.Header().Set("WWW-Authenticate", `Bearer realm="qesflow-codec"`)
		http.Error(w, "codec endpoint: missing or wrong bearer token or session", http.StatusUnauthorized)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/decode") {
		// Decoding reads PII: who asked, from where.
		h.log.Info("codec decode", zap.String("caller", tokenID), zap.String("remoteAddr", r.RemoteAddr))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("codec endpoint: body larger than %d bytes", h.maxBytes), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "codec endpoint: read body", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h.codec.ServeHTTP(w, r)
}

// preflight answers a CORS preflight (the origin was checked by the caller).
func (h *handler) preflight(w http.ResponseWriter) {
	w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
	w.Header().Set("Access-Control-Allow-Headers", corsAllowHeaders)
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

// authorised reports whether r carries a known bearer token or, for a decode from a UI
// origin, a signed-in session; and who: "token:" and the token's id (a prefix of its hash,
// never the token), or "operator:" and the session's operator. A wrong token is refused
// whatever else the request carries.
func (h *handler) authorised(w http.ResponseWriter, r *http.Request, fromUI bool) (string, bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		if h.sessions == nil || !fromUI || !strings.HasSuffix(r.URL.Path, "/decode") {
			return "", false
		}
		who, ok := h.sessions.AuthenticateSession(w, r)
		return "operator:" + who, ok
	}
	scheme, token, ok := strings.Cut(auth, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	match := 0
	for _, t := range h.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], t[:])
	}
	return "token:" + TokenID(strings.TrimSpace(token)), match == 1
}

// TokenID identifies a secret in logs without revealing it: the first 12 hex digits of its
// SHA-256.
func TokenID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:6])
}
