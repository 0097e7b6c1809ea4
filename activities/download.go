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

// DownloadWindow is how long Treezor's presigned document URL is valid (seed: QES guide,
// "30 seconds to download the document from the moment the presigned URL has been
// generated"). It limits when the download starts: the URL is fetched and the download
// started within it. The body then streams under the activity's own timeout.
const DownloadWindow = 30 * time.Second

// HeartbeatEvery is how often a download reports progress (activity heartbeat) while the
// body streams; a workflow that sets a HeartbeatTimeout above it learns of a stalled
// worker without waiting for the start-to-close timeout.
const HeartbeatEvery = 5 * time.Second

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
// starts the download within DownloadWindow, then streams the body into the
// DocumentStore under the activity's own timeout, heartbeating the bytes received. A
// retry fetches a fresh URL. The URL is never logged or returned.
func (a *Activities) DownloadQESDocument(ctx context.Context, in DownloadInput) (DownloadOutput, error) {
	if strings.TrimSpace(in.DocumentID) == "" {
		return DownloadOutput{}, invalidInput("download QES document: document id is required")
	}
	if a.Store == nil {
		return DownloadOutput{}, invalidInput("download QES document: no document store configured")
	}
	logger := activity.GetLogger(ctx)
	op := "download document " + in.DocumentID + " of user " + in.UserID

	body, err := a.startDownload(ctx, op, in.DocumentID)
	if err != nil {
		return DownloadOutput{}, err
	}
	defer body.Close()

	limit := a.maxDocumentSize()
	progress := &heartbeatReader{ctx: ctx, r: &limitReader{r: body, left: limit}}
	doc, err := a.Store.Put(ctx, progress)
	switch {
	case errors.Is(err, errTooLarge):
		return DownloadOutput{}, sizeError(in.DocumentID, limit)
	case err != nil && ctx.Err() != nil:
		return DownloadOutput{}, fmt.Errorf("%s: %w", op, ctx.Err())
	case err != nil && treezorFailure(err):
		// The transfer broke or stalled: a retry gets a fresh URL.
		return DownloadOutput{}, treezorError(op, err)
	case err != nil:
		return DownloadOutput{}, fmt.Errorf("%s: %w", op, err)
	}
	logger.Info("QES document stored", "userId", in.UserID, "documentId", in.DocumentID, "sha256", doc.SHA256, "size", doc.Size)
	return DownloadOutput{SHA256: doc.SHA256, Size: doc.Size, StoredAs: doc.Location}, nil
}

// startDownload gets a presigned URL (within DownloadWindow) and starts the download at
// once; the returned body is bound to ctx only.
func (a *Activities) startDownload(ctx context.Context, op, documentID string) (io.ReadCloser, error) {
	urlCtx, cancel := context.WithTimeout(ctx, DownloadWindow)
	defer cancel()
	url, err := a.Treezor.DocumentDownloadURL(urlCtx, documentID)
	if err != nil {
		return nil, treezorError(op, err)
	}
	// The client's timeout bounds the wait for the answer's headers; the URL only has to
	// be valid when the request reaches the storage.
	body, err := a.Treezor.DownloadDocument(ctx, url)
	if err != nil {
		return nil, downloadError(op, err)
	}
	return body, nil
}

// treezorFailure reports an error of the Treezor client (network, stall, answer).
func treezorFailure(err error) bool {
	var netErr *treezor.NetworkError
	var apiErr *treezor.APIError
	return errors.As(err, &netErr) || errors.As(err, &apiErr)
}

// heartbeatReader records an activity heartbeat with the bytes read so far, at most every
// HeartbeatEvery.
type heartbeatReader struct {
	ctx  context.Context
	r    io.Reader
	n    int64
	last time.Time
}

func (h *heartbeatReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.n += int64(n)
	if now := time.Now(); now.Sub(h.last) >= HeartbeatEvery {
		h.last = now
		activity.RecordHeartbeat(h.ctx, h.n)
	}
	return n, err
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
