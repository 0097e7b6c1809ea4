package workflows

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/qesflow/qesflow/activities"
	"github.com/qesflow/qesflow/treezor"
)

// fakeAPI is an in-memory Treezor behind the real activities (unit tests). Identification
// ids follow the access tag: tag "qesflow:42:default-test-run-id:qes:2" gives "ident-2", so a retried call
// gets the same identification, as with Treezor's accessTag. It stays in memory rather
// than the simulator: the unit tests run on the test environment's virtual clock and set
// the exact answer (an error, a review) each call returns.
type fakeAPI struct {
	mu sync.Mutex
	// initErrs are returned by the next InitiateQES calls, in order (nil: answer normally).
	initErrs  []error
	initTags  []string
	kycTags   []string
	kycAnswer treezor.KYCReview
	kycErr    error
	documents map[string][]byte
	// country and review are the user as Treezor holds it (GET user); review follows the
	// KYC webhooks the suite sends unless reviewFixed.
	country     string
	review      treezor.KYCReview
	reviewFixed bool
	userErr     error
	// payins are the wallet's payins already received (GET /v1/payins).
	payins []treezor.Payin
}

var _ activities.TreezorAPI = (*fakeAPI)(nil)

func newFakeAPI() *fakeAPI {
	return &fakeAPI{kycAnswer: treezor.KYCReviewPending, documents: map[string][]byte{}}
}

func identForTag(tag string) string { return "ident-" + tag[strings.LastIndex(tag, ":")+1:] }

func urlForIdent(userID, ident string) string {
	return "https://go.idnow.example/" + userID + "/" + ident
}

func (f *fakeAPI) InitiateQES(_ context.Context, userID, _, accessTag string) (treezor.Identification, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.initTags = append(f.initTags, accessTag)
	if len(f.initErrs) > 0 {
		err := f.initErrs[0]
		f.initErrs = f.initErrs[1:]
		if err != nil {
			return treezor.Identification{}, fmt.Errorf("initiate QES for user %s: %w", userID, err)
		}
	}
	ident := identForTag(accessTag)
	return treezor.Identification{IdentificationID: ident, IdentificationURL: urlForIdent(userID, ident)}, nil
}

func (f *fakeAPI) RequestKYCReview(_ context.Context, userID, accessTag string) (treezor.KYCReviewResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.kycTags = append(f.kycTags, accessTag)
	if f.kycErr != nil {
		return treezor.KYCReviewResult{}, f.kycErr
	}
	if !f.reviewFixed && kycRank(f.kycAnswer) > kycRank(f.review) {
		f.review = f.kycAnswer
	}
	return treezor.KYCReviewResult{UserID: userID, KYCReview: f.kycAnswer, KYCLevel: 1}, nil
}

func (f *fakeAPI) DocumentDownloadURL(_ context.Context, documentID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.documents[documentID]; !ok {
		return "", &treezor.APIError{StatusCode: 404, Op: "document download URL", Code: "document_not_found"}
	}
	return "https://s3.example/" + documentID + "?X-Amz-Signature=secret", nil
}

func (f *fakeAPI) DownloadDocument(_ context.Context, url string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := strings.TrimSuffix(strings.TrimPrefix(url, "https://s3.example/"), "?X-Amz-Signature=secret")
	return io.NopCloser(bytes.NewReader(f.documents[id])), nil
}

func (f *fakeAPI) GetUser(_ context.Context, userID string) (treezor.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.userErr != nil {
		return treezor.User{}, f.userErr
	}
	return treezor.User{UserID: userID, Country: f.country, KYCReview: f.review, KYCLevel: 1}, nil
}

// ListWallets lists the user's one wallet, wallet-1 (the wallet of payin()).
func (f *fakeAPI) ListWallets(_ context.Context, userID string) ([]treezor.Wallet, error) {
	return []treezor.Wallet{{WalletID: "wallet-1", UserID: userID, WalletTypeID: 10, Status: "VALIDATED"}}, nil
}

func (f *fakeAPI) ListPayins(_ context.Context, walletID string) ([]treezor.Payin, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []treezor.Payin
	for _, p := range f.payins {
		if p.WalletID == walletID {
			out = append(out, p)
		}
	}
	return out, nil
}

// sawReview makes Treezor hold the review a user.kycreview webhook announces.
func (f *fakeAPI) sawReview(k treezor.KYCReview) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.reviewFixed {
		f.review = k
	}
}

func (f *fakeAPI) initiations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.initTags...)
}

func (f *fakeAPI) kycRequests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.kycTags...)
}

// Webhook event builders. Every event gets a fresh webhook id.

var webhookSeq atomic.Int64

func newEvent(typ string) treezor.Event {
	return treezor.Event{
		WebhookID: fmt.Sprintf("wh-%d", webhookSeq.Add(1)),
		Type:      typ,
		CreatedAt: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		Known:     true,
		UserID:    testUser,
	}
}

func qesEvent(typ, ident string) treezor.Event {
	ev := newEvent(typ)
	ev.IdentificationID = ident
	return ev
}

func created(ident string) treezor.Event    { return qesEvent(treezor.EventQESCreated, ident) }
func processing(ident string) treezor.Event { return qesEvent(treezor.EventQESProcessing, ident) }

func finalized(ident, result string, code int) treezor.Event {
	ev := qesEvent(treezor.EventQESFinalized, ident)
	ev.Result, ev.ReasonCode = result, code
	if code != 0 {
		ev.ReasonMessage = treezor.LookupReason(code).Message
	}
	return ev
}

func success(ident string) treezor.Event { return finalized(ident, treezor.ResultSuccess, 0) }

func aborted(ident string, code int) treezor.Event {
	ev := qesEvent(treezor.EventQESAborted, ident)
	ev.Result, ev.ReasonCode, ev.ReasonMessage = treezor.ResultAborted, code, treezor.LookupReason(code).Message
	return ev
}

func kycReview(k treezor.KYCReview) treezor.Event {
	ev := newEvent(treezor.EventUserKYCReview)
	ev.KYCReview, ev.KYCLevel = k, 2
	return ev
}

// payin is a SEPA credit transfer into wallet-1.
func payin(status string) treezor.Event { return payinWith(status, PaymentMethodSCT) }

func payinWith(status string, method int) treezor.Event {
	ev := newEvent(treezor.EventPayinUpdate)
	ev.PayinID, ev.PayinStatus, ev.WalletID, ev.PaymentMethodID = "payin-1", status, "wallet-1", method
	return ev
}

func documentCreated(id string) treezor.Event {
	ev := newEvent(treezor.EventDocumentCreate)
	ev.DocumentID, ev.DocumentTypeID, ev.DocumentStatus = id, 9, "PENDING"
	return ev
}
