package activities

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/qesflow/qesflow/treezor"
)

// DownloadWindow is how long Treezor's presigned document URL is valid: the URL is
// fetched and the file downloaded within one activity attempt bounded by this window.
const DownloadWindow = 30 * time.Second

// DefaultMaxDocumentSize bounds a downloaded document when Activities.MaxDocumentSize is 0.
const DefaultMaxDocumentSize = 64 << 20

// DownloadInput is the input of DownloadQESDocument.
type DownloadInput struct {
	UserID     string `json:"userId"`
	DocumentID string `json:"documentId"`
}

// DownloadOutput describes the stored document.
type DownloadOutput struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	StoredAs string `json:"storedAs"`
}

// DownloadQESDocument fetches the presigned URL of a document created by the QES and
// downloads it into the DocumentStore, both within DownloadWindow. A retry fetches a
// fresh URL. The URL is never logged or returned.
func (a *Activities) DownloadQESDocument(ctx context.Context, in DownloadInput) (DownloadOutput, error) {
	if strings.TrimSpace(in.DocumentID) == "" {
		return DownloadOutput{}, invalidInput("download QES document: document id is required")
	}
	if a.Store == nil {
		return DownloadOutput{}, invalidInput("download QES document: no document store configured")
	}
	logger := activity.GetLogger(ctx)
	ctx, cancel := context.WithTimeout(ctx, DownloadWindow)
	defer cancel()

	op := "download document " + in.DocumentID + " of user " + in.UserID
	url, err := a.Treezor.DocumentDownloadURL(ctx, in.DocumentID)
	if err != nil {
		return DownloadOutput{}, treezorError(op, err)
	}
	body, err := a.Treezor.DownloadDocument(ctx, url)
	if err != nil {
		return DownloadOutput{}, downloadError(op, err)
	}
	defer body.Close()

	limit := a.maxDocumentSize()
	doc, err := a.Store.Put(ctx, &limitReader{r: body, left: limit})
	switch {
	case errors.Is(err, errTooLarge):
		return DownloadOutput{}, sizeError(in.DocumentID, limit)
	case err != nil && ctx.Err() != nil:
		// The window closed mid-download: a retry gets a fresh URL.
		return DownloadOutput{}, treezorError(op, fmt.Errorf("%w: %w", err, context.DeadlineExceeded))
	case err != nil:
		return DownloadOutput{}, fmt.Errorf("%s: %w", op, err)
	}
	logger.Info("QES document stored", "userId", in.UserID, "documentId", in.DocumentID, "sha256", doc.SHA256, "size", doc.Size)
	return DownloadOutput{SHA256: doc.SHA256, Size: doc.Size, StoredAs: doc.Location}, nil
}

func (a *Activities) maxDocumentSize() int64 {
	if a.MaxDocumentSize > 0 {
		return a.MaxDocumentSize
	}
	return DefaultMaxDocumentSize
}

// downloadError maps a failed fetch of the presigned URL. The storage answers 403 or 410
// once the 30 s URL expired: retryable, as the retry fetches a fresh URL.
func downloadError(op string, err error) error {
	var apiErr *treezor.APIError
	if errors.As(err, &apiErr) && (apiErr.StatusCode == http.StatusForbidden || apiErr.StatusCode == http.StatusGone) {
		return temporal.NewApplicationErrorWithCause(op+" failed: presigned URL refused", ErrTypeDocumentURLExpired, err)
	}
	return treezorError(op, err)
}

var errTooLarge = errors.New("document exceeds the size limit")

// limitReader reads at most left bytes and fails with errTooLarge on more.
type limitReader struct {
	r    io.Reader
	left int64
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errTooLarge
	}
	return n, err
}
