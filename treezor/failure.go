package treezor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
)

// Failure kinds of Classify.
const (
	// FailureNone: no error.
	FailureNone = "none"
	// FailureUser: Treezor answered about this user (428, 400 on its data, 404 user
	// unknown, another 4xx with a Treezor error body). Retrying the same call fails again.
	FailureUser = "user"
	// FailureInfra: the failure says nothing about the user: Treezor unreachable or
	// overloaded, our credentials, certificate or scopes refused, or something that is not
	// Treezor at the base URL. The call may succeed once the cause is fixed: retry.
	FailureInfra = "infrastructure"
	// FailureCanceled: the caller gave up (context canceled).
	FailureCanceled = "canceled"
)

// Failure reasons of Classify: a small fixed set, fit for a metric label.
const (
	ReasonOK                 = "ok"
	ReasonUnavailable        = "unavailable"   // 5xx, 429 or 408
	ReasonAuth               = "auth"          // 401 after a token refresh
	ReasonForbidden          = "forbidden"     // 403: scope or feature not granted to the client
	ReasonTokenRefused       = "token_refused" // the token endpoint refused our credentials or scopes
	ReasonTLS                = "tls"           // TLS handshake failed (client certificate, CA, server name)
	ReasonNetwork            = "network"       // no answer: DNS, connection refused or reset
	ReasonTimeout            = "timeout"       // no answer in time
	ReasonNotTreezor         = "not_treezor"   // an error answer without a Treezor error body
	ReasonMalformed          = "malformed"     // a 2xx answer that is not what Treezor sends
	ReasonUserDataIncomplete = "user_data_incomplete"
	ReasonUserUnknown        = "user_unknown"
	ReasonRejected           = "rejected"
	ReasonInvalidArgument    = "invalid_argument"
	ReasonCanceled           = "canceled"
)

// userOps are the calls about one user: a 404 with a Treezor error body means the user is
// unknown.
var userOps = map[string]bool{"initiate QES": true, "request KYC review": true, "get user": true}

// Classify sorts an error of the Client into a kind (FailureUser, FailureInfra, ...) and a
// reason (Reason*). Only answers about the user are FailureUser; anything that could be
// fixed on our side or Treezor's without the user doing anything is FailureInfra.
func Classify(err error) (kind, reason string) {
	if err == nil {
		return FailureNone, ReasonOK
	}
	if errors.Is(err, context.Canceled) {
		return FailureCanceled, ReasonCanceled
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		return classifyAnswer(apiErr)
	}
	if isTLSError(err) {
		return FailureInfra, ReasonTLS
	}
	var netErr *NetworkError
	if errors.As(err, &netErr) {
		if netErr.Timeout() {
			return FailureInfra, ReasonTimeout
		}
		return FailureInfra, ReasonNetwork
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return FailureInfra, ReasonTimeout
	}
	if errors.Is(err, ErrInvalidArgument) {
		return FailureUser, ReasonInvalidArgument
	}
	if errors.Is(err, ErrMalformed) {
		return FailureInfra, ReasonMalformed
	}
	return FailureInfra, ReasonNetwork
}

func classifyAnswer(e *APIError) (kind, reason string) {
	switch {
	case e.Retryable():
		return FailureInfra, ReasonUnavailable
	case !e.FromTreezor && e.Op != downloadOp && !statusSpeaksForItself(e.StatusCode):
		// An HTML page or an empty body: a wrong base URL or something in between.
		return FailureInfra, ReasonNotTreezor
	case e.Op == tokenOp:
		return FailureInfra, ReasonTokenRefused
	case e.StatusCode == http.StatusUnauthorized:
		return FailureInfra, ReasonAuth
	case e.StatusCode == http.StatusForbidden:
		return FailureInfra, ReasonForbidden
	case e.UserDataIncomplete():
		return FailureUser, ReasonUserDataIncomplete
	case e.StatusCode == http.StatusNotFound && userOps[e.Op]:
		return FailureUser, ReasonUserUnknown
	default:
		return FailureUser, ReasonRejected
	}
}

// statusSpeaksForItself: 401, 403 and 428 mean the same with or without Treezor's body.
func statusSpeaksForItself(status int) bool {
	return status == http.StatusUnauthorized || status == http.StatusForbidden || status == http.StatusPreconditionRequired
}

// isTLSError reports a failed TLS handshake: a certificate the peer refused or sent that
// we could not verify, or a TLS alert.
func isTLSError(err error) bool {
	var (
		alert     tls.AlertError
		header    tls.RecordHeaderError
		verify    *tls.CertificateVerificationError
		authority x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
	)
	if errors.As(err, &alert) || errors.As(err, &header) || errors.As(err, &verify) ||
		errors.As(err, &authority) || errors.As(err, &hostname) || errors.As(err, &invalid) {
		return true
	}
	// net/http does not always keep the TLS error in the chain (an alert read after the
	// handshake surfaces as the text "remote error: tls: ...").
	return strings.Contains(err.Error(), "tls: ")
}
