package activities

import (
	"context"
	"io"

	"github.com/qesflow/qesflow/treezor"
)

// TreezorAPI is the part of the Treezor client the activities use; *treezor.Client
// implements it.
type TreezorAPI interface {
	InitiateQES(ctx context.Context, userID, redirectURL, accessTag string) (treezor.Identification, error)
	RequestKYCReview(ctx context.Context, userID, accessTag string) (treezor.KYCReviewResult, error)
	DocumentDownloadURL(ctx context.Context, documentID string) (string, error)
	DownloadDocument(ctx context.Context, url string) (io.ReadCloser, error)
}

var _ TreezorAPI = (*treezor.Client)(nil)

// Activities are the QESOnboarding activities. Register a pointer to it with the worker:
// its exported methods are the activities (named by the *Name constants).
type Activities struct {
	// Treezor is the Treezor API (required).
	Treezor TreezorAPI
	// Store keeps downloaded QES documents (required only when documents are downloaded).
	Store DocumentStore
	// MaxDocumentSize bounds one downloaded document (0: DefaultMaxDocumentSize).
	MaxDocumentSize int64
	// Events delivers the outbound events (nil: no endpoint configured).
	Events EventSender
}
