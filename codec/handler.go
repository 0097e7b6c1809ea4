package codec

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
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
	// any other Origin are refused with 403.
	UIOrigins []string
	// TrustUIOrigins admits decode requests from a UI origin without a token, for the dev
	// stack on loopback only: every UI origin must be a loopback one (NewHandler refuses
	// others), and such a request is admitted only from a loopback address. An Origin header
	// is not authentication (any script can set it), so this never applies to a request from
	// another machine, nor to /encode (an encryption oracle).
	TrustUIOrigins bool
	// Logger receives the audit line of every decode (token id, never the token, and remote
	// address) and every refused request. Nil: none.
	Logger *zap.Logger
	// MaxBodyBytes bounds a request body (default DefaultMaxBodyBytes).
	MaxBodyBytes int64
}

// handler is the codec endpoint: CORS and authorisation in front of the SDK's payload codec
// HTTP handler.
type handler struct {
	codec    http.Handler
	log      *zap.Logger
	tokens   [][sha256.Size]byte
	origins  map[string]bool
	trustUI  bool
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
		trustUI:  cfg.TrustUIOrigins,
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
		if cfg.TrustUIOrigins && !loopbackOrigin(origin) {
			return nil, fmt.Errorf("codec endpoint: UI origin %s is not on loopback: an Origin header is not authentication, "+
				"give the UI's users a token (TrustUIOrigins is for the dev stack on loopback only)", origin)
		}
		h.origins[origin] = true
	}
	if len(h.tokens) == 0 && !(h.trustUI && len(h.origins) > 0) {
		return nil, errors.New("codec endpoint: nobody could use it: give bearer tokens, or UI origins to trust")
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
	tokenID, ok := h.authorised(r, fromUI)
	if !ok {
		h.log.Warn("codec endpoint: refused", zap.String("path", r.URL.Path), zap.String("remoteAddr", r.RemoteAddr),
			zap.Bool("origin", origin != ""))
		w.Header().Set("WWW-Authenticate", `Bearer realm="qesflow-codec"`)
		http.Error(w, "codec endpoint: missing or wrong bearer token", http.StatusUnauthorized)
		return
	}
	if strings.HasSuffix(r.URL.Path, "/decode") {
		// Decoding reads PII: who asked, from where.
		h.log.Info("codec decode", zap.String("tokenId", tokenID), zap.String("remoteAddr", r.RemoteAddr))
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

// authorised reports whether r carries a known bearer token, and its id (a prefix of its
// hash, never the token); or, for a decode from a trusted loopback UI on this machine
// without a token, "ui-origin". A wrong token is refused even from the UI.
func (h *handler) authorised(r *http.Request, fromUI bool) (string, bool) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		ok := fromUI && h.trustUI && strings.HasSuffix(r.URL.Path, "/decode") && loopbackRemote(r.RemoteAddr)
		return "ui-origin", ok
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
	return TokenID(strings.TrimSpace(token)), match == 1
}

// TokenID identifies a secret in logs without revealing it: the first 12 hex digits of its
// SHA-256.
func TokenID(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:6])
}

// loopbackOrigin reports whether a normalized origin names this machine.
func loopbackOrigin(origin string) bool {
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Hostname(), "localhost") {
		return true
	}
	ip := net.ParseIP(u.Hostname())
	return ip != nil && ip.IsLoopback()
}

// loopbackRemote reports whether a request's remote address is on this machine.
func loopbackRemote(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
