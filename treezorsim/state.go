package treezorsim

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/qesflow/qesflow/treezor"
)

// stateVersion is the version of the state file format described in the package doc.
const stateVersion = 1

// numericIDGapOnLoad is skipped in the numeric id sequence when a state is loaded, so that
// ids issued after the last save of a simulator that crashed are never issued again.
const numericIDGapOnLoad = 100_000

// stateV1 is the state file, format version 1.
type stateV1 struct {
	Version         int                       `json:"version"`
	SavedAt         time.Time                 `json:"savedAt"`
	NextNumericID   int64                     `json:"nextNumericId"`
	PresignKey      []byte                    `json:"presignKey"`
	Users           []userState               `json:"users"`
	Identifications []identificationState     `json:"identifications"`
	Documents       []documentState           `json:"documents"`
	AccessTags      []accessTagState          `json:"accessTags"`
	Tokens          []tokenState              `json:"tokens"`
	WebhookQueues   map[string][]webhookState `json:"webhookQueues"`
	KYCDecisions    []decisionRecord          `json:"kycDecisions"`
	Stats           statsState                `json:"stats"`
}

type userState struct {
	User
	WalletID        string        `json:"walletId"`
	OtherWallets    []string      `json:"otherWallets,omitempty"`
	Payins          []payinRecord `json:"payins,omitempty"`
	KYCReview       int           `json:"kycReview"`
	KYCLevel        int           `json:"kycLevel"`
	Identifications []string      `json:"identifications,omitempty"`
	PendingReview   *reviewState  `json:"pendingReview,omitempty"`
}

type reviewState struct {
	RequestedAt  time.Time   `json:"requestedAt"`
	AutoDecision KYCDecision `json:"autoDecision,omitempty"`
	DecideAt     time.Time   `json:"decideAt,omitzero"`
}

type identificationState struct {
	ID          string              `json:"identificationId"`
	UserID      string              `json:"userId"`
	URL         string              `json:"identificationURL"`
	RedirectURL string              `json:"redirectUrl,omitempty"`
	State       IdentificationState `json:"state"`
	Result      string              `json:"result,omitempty"`
	Reason      int                 `json:"reasonCode,omitempty"`
	Documents   []string            `json:"documents,omitempty"`
	CreatedAt   time.Time           `json:"createdAt"`
}

// documentState is a document without its content, which documentContent regenerates.
type documentState struct {
	ID               string `json:"documentId"`
	UserID           string `json:"userId"`
	IdentificationID string `json:"identificationId"`
	TypeID           int    `json:"documentTypeId"`
	FileName         string `json:"fileName"`
}

type accessTagState struct {
	Op     string    `json:"op"`
	UserID string    `json:"userId"`
	Tag    string    `json:"accessTag"`
	Status int       `json:"status"`
	Body   string    `json:"body"` // the JSON answer, verbatim
	At     time.Time `json:"at"`
}

type tokenState struct {
	SHA256    string    `json:"sha256"`
	Scopes    []string  `json:"scopes"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// webhookState is a webhook not yet answered 2xx; its user is the key of webhookQueues.
type webhookState struct {
	WebhookID string     `json:"webhookId"`
	Webhook   string     `json:"webhook"`
	ObjectID  string     `json:"objectId"`
	Duplicate bool       `json:"duplicate,omitempty"`
	Attempts  int        `json:"attempts"`
	Body      string     `json:"body"` // the signed envelope, verbatim
	Payin     *SentPayin `json:"payin,omitempty"`
}

type statsState struct {
	IdentificationsCreated map[string]int `json:"identificationsCreated"`
	KYCReviewRequests      map[string]int `json:"kycReviewRequests"`
	AccessTagReplays       int            `json:"accessTagReplays"`
	TokensIssued           int            `json:"tokensIssued"`
	WebhooksEmitted        int            `json:"webhooksEmitted"`
	WebhooksDelivered      int            `json:"webhooksDelivered"`
	WebhooksFailed         int            `json:"webhooksFailed"`
	WebhooksRetried        int            `json:"webhooksRetried"`
	DuplicatesSent         int            `json:"duplicatesSent"`
	APIErrors              int            `json:"apiErrors"`
	APIHangs               int            `json:"apiHangs"`
}

// snapshotLocked copies the state for saving; sort orders it, outside the lock. It shares
// the slices that are only ever appended to (a user's identifications, an identification's
// documents): later appends never touch the elements the snapshot sees. Caller holds s.mu.
func (s *Simulator) snapshotLocked() *stateV1 {
	now := s.now()
	st := &stateV1{
		Version: stateVersion, SavedAt: now, NextNumericID: s.nextNumID, PresignKey: s.presignKey,
		Users:           make([]userState, 0, len(s.userOrder)),
		Identifications: make([]identificationState, 0, len(s.identOrder)),
		Documents:       make([]documentState, 0, len(s.documents)),
		AccessTags:      make([]accessTagState, 0, len(s.accessTags)),
		Tokens:          make([]tokenState, 0, len(s.tokens)),
		WebhookQueues:   make(map[string][]webhookState, len(s.queues)),
		KYCDecisions:    slices.Clone(s.decisions),
		Stats:           s.statsStateLocked(),
	}
	for _, id := range s.userOrder {
		st.Users = append(st.Users, s.users[id].state())
	}
	for _, id := range s.identOrder {
		st.Identifications = append(st.Identifications, s.idents[id].state())
	}
	for _, d := range s.documents {
		st.Documents = append(st.Documents, documentState{
			ID: d.id, UserID: d.userID, IdentificationID: d.identificationID, TypeID: d.typeID, FileName: d.fileName,
		})
	}
	for k, a := range s.accessTags {
		if now.Sub(a.at) < s.cfg.AccessTagTTL {
			st.AccessTags = append(st.AccessTags, accessTagState{Op: k.op, UserID: k.userID, Tag: k.tag, Status: a.status, Body: string(a.body), At: a.at})
		}
	}
	for k, t := range s.tokens {
		if now.Before(t.expires) {
			st.Tokens = append(st.Tokens, tokenState{SHA256: k, Scopes: t.scopes, ExpiresAt: t.expires})
		}
	}
	for userID, q := range s.queues {
		if len(q) == 0 {
			continue
		}
		ws := make([]webhookState, len(q))
		for i, o := range q {
			ws[i] = webhookState{WebhookID: o.webhookID, Webhook: o.event, ObjectID: o.objectID, Duplicate: o.duplicate, Attempts: o.attempts, Body: string(o.body), Payin: o.payin}
		}
		st.WebhookQueues[userID] = ws
	}
	return st
}

// sort puts the entries copied from maps in a stable order, so that equal states give
// equal files.
func (st *stateV1) sort() {
	slices.SortFunc(st.Documents, func(a, b documentState) int { return compareIDs(a.ID, b.ID) })
	slices.SortFunc(st.AccessTags, func(a, b accessTagState) int {
		return cmp.Or(cmp.Compare(a.Op, b.Op), cmp.Compare(a.UserID, b.UserID), cmp.Compare(a.Tag, b.Tag))
	})
	slices.SortFunc(st.Tokens, func(a, b tokenState) int { return cmp.Compare(a.SHA256, b.SHA256) })
}

// compareIDs orders numeric ids numerically (shorter first), others lexically.
func compareIDs(a, b string) int {
	return cmp.Or(cmp.Compare(len(a), len(b)), cmp.Compare(a, b))
}

func (u *user) state() userState {
	st := userState{
		User: u.User, WalletID: u.walletID, OtherWallets: u.otherWallets, Payins: u.payins,
		KYCReview: int(u.kycReview), KYCLevel: u.kycLevel,
		Identifications: u.identifications[:len(u.identifications):len(u.identifications)],
	}
	if rr := u.review; rr != nil {
		st.PendingReview = &reviewState{RequestedAt: rr.requestedAt, AutoDecision: rr.auto, DecideAt: rr.decideAt}
	}
	return st
}

func (i *identification) state() identificationState {
	return identificationState{
		ID: i.ID, UserID: i.UserID, URL: i.URL, RedirectURL: i.redirectURL, State: i.State,
		Result: i.Result, Reason: i.Reason, Documents: i.Documents[:len(i.Documents):len(i.Documents)], CreatedAt: i.CreatedAt,
	}
}

func (s *Simulator) statsStateLocked() statsState {
	c := s.counters
	return statsState{
		IdentificationsCreated: maps.Clone(c.identificationsByUser), KYCReviewRequests: maps.Clone(c.reviewsByUser),
		AccessTagReplays: c.accessTagReplays, TokensIssued: c.tokensIssued, WebhooksEmitted: c.webhooksEmitted,
		WebhooksDelivered: c.delivered, WebhooksFailed: c.failed, WebhooksRetried: c.retried,
		DuplicatesSent: c.duplicates, APIErrors: c.apiErrors, APIHangs: c.apiHangs,
	}
}

// loadedState is a state file turned back into the simulator's structures, checked and
// ready to install.
type loadedState struct {
	users      map[string]*user
	userOrder  []string
	idents     map[string]*identification
	identOrder []string
	documents  map[string]*document
	accessTags map[accessTagKey]storedAnswer
	tokens     map[string]token
	queues     map[string][]outgoing
	decisions  []decisionRecord
	counters   counters
}

// rebuild checks a decoded state file and rebuilds the simulator's structures from it.
// Every problem is reported; nothing is installed.
func (st *stateV1) rebuild() (*loadedState, error) {
	if st.Version != stateVersion {
		return nil, fmt.Errorf("unsupported state version %d (want %d)", st.Version, stateVersion)
	}
	ls := &loadedState{
		users: map[string]*user{}, idents: map[string]*identification{}, documents: map[string]*document{},
		accessTags: map[accessTagKey]storedAnswer{}, tokens: map[string]token{}, queues: map[string][]outgoing{},
		decisions: st.KYCDecisions,
	}
	var errs []error
	errs = append(errs, ls.rebuildUsers(st.Users)...)
	errs = append(errs, ls.rebuildIdentifications(st.Identifications)...)
	errs = append(errs, ls.rebuildDocuments(st.Documents)...)
	for _, a := range st.AccessTags {
		ls.accessTags[accessTagKey{op: a.Op, userID: a.UserID, tag: a.Tag}] = storedAnswer{status: a.Status, body: []byte(a.Body), at: a.At}
	}
	for _, t := range st.Tokens {
		ls.tokens[t.SHA256] = token{scopes: t.Scopes, expires: t.ExpiresAt}
	}
	for userID, q := range st.WebhookQueues {
		for _, w := range q {
			if w.WebhookID == "" || len(w.Body) == 0 {
				errs = append(errs, fmt.Errorf("queued webhook of user %s without id or body", userID))
				continue
			}
			ls.queues[userID] = append(ls.queues[userID], outgoing{
				userID: userID, webhookID: w.WebhookID, event: w.Webhook, objectID: w.ObjectID,
				body: []byte(w.Body), duplicate: w.Duplicate, attempts: w.Attempts, payin: w.Payin,
			})
		}
	}
	ls.counters = newCounters()
	maps.Copy(ls.counters.identificationsByUser, st.Stats.IdentificationsCreated)
	maps.Copy(ls.counters.reviewsByUser, st.Stats.KYCReviewRequests)
	ls.counters.accessTagReplays, ls.counters.tokensIssued = st.Stats.AccessTagReplays, st.Stats.TokensIssued
	ls.counters.webhooksEmitted, ls.counters.delivered = st.Stats.WebhooksEmitted, st.Stats.WebhooksDelivered
	ls.counters.failed, ls.counters.retried = st.Stats.WebhooksFailed, st.Stats.WebhooksRetried
	ls.counters.duplicates, ls.counters.apiErrors, ls.counters.apiHangs = st.Stats.DuplicatesSent, st.Stats.APIErrors, st.Stats.APIHangs
	return ls, errors.Join(errs...)
}

func (ls *loadedState) rebuildUsers(users []userState) []error {
	var errs []error
	for _, us := range users {
		if !validUserID.MatchString(us.UserID) {
			errs = append(errs, fmt.Errorf("invalid user id %q", us.UserID))
			continue
		}
		if _, dup := ls.users[us.UserID]; dup {
			errs = append(errs, fmt.Errorf("user %s appears twice", us.UserID))
			continue
		}
		u := &user{
			User: us.User, walletID: us.WalletID, otherWallets: us.OtherWallets, payins: us.Payins, kycReview: treezor.KYCReview(us.KYCReview), kycLevel: us.KYCLevel,
			identifications: us.Identifications,
		}
		if r := us.PendingReview; r != nil {
			u.review = &reviewRequest{userID: us.UserID, requestedAt: r.RequestedAt, auto: r.AutoDecision, decideAt: r.DecideAt}
			if r.AutoDecision != "" && r.AutoDecision != KYCValidate && r.AutoDecision != KYCRefuse {
				errs = append(errs, fmt.Errorf("user %s: invalid automatic KYC decision %q", us.UserID, r.AutoDecision))
			}
		}
		ls.users[us.UserID] = u
		ls.userOrder = append(ls.userOrder, us.UserID)
	}
	return errs
}

func (ls *loadedState) rebuildIdentifications(idents []identificationState) []error {
	var errs []error
	for _, is := range idents {
		if _, dup := ls.idents[is.ID]; dup || is.ID == "" {
			errs = append(errs, fmt.Errorf("identification %q is empty or appears twice", is.ID))
			continue
		}
		if _, ok := ls.users[is.UserID]; !ok {
			errs = append(errs, fmt.Errorf("identification %s belongs to unknown user %s", is.ID, is.UserID))
			continue
		}
		switch is.State {
		case StateInitiated, StateInReview, StateFinalized, StateAborted:
		default:
			errs = append(errs, fmt.Errorf("identification %s: unknown state %q", is.ID, is.State))
		}
		ls.idents[is.ID] = &identification{
			Identification: Identification{
				ID: is.ID, UserID: is.UserID, URL: is.URL, State: is.State, Result: is.Result,
				Reason: is.Reason, Documents: is.Documents, CreatedAt: is.CreatedAt,
			},
			redirectURL: is.RedirectURL,
		}
		ls.identOrder = append(ls.identOrder, is.ID)
	}
	// Each user lists exactly its identifications.
	listed := map[string]bool{}
	for _, userID := range ls.userOrder {
		for _, id := range ls.users[userID].identifications {
			if i, ok := ls.idents[id]; !ok || i.UserID != userID || listed[id] {
				errs = append(errs, fmt.Errorf("user %s lists identification %s, which is not its own", userID, id))
			}
			listed[id] = true
		}
	}
	for _, id := range ls.identOrder {
		if !listed[id] {
			errs = append(errs, fmt.Errorf("identification %s is missing from the list of user %s", id, ls.idents[id].UserID))
		}
	}
	return errs
}

func (ls *loadedState) rebuildDocuments(docs []documentState) []error {
	var errs []error
	for _, ds := range docs {
		ident, ok := ls.idents[ds.IdentificationID]
		if !ok || ident.UserID != ds.UserID || ds.ID == "" {
			errs = append(errs, fmt.Errorf("document %q does not belong to a known identification of its user", ds.ID))
			continue
		}
		d := &document{id: ds.ID, userID: ds.UserID, identificationID: ds.IdentificationID, typeID: ds.TypeID, fileName: ds.FileName}
		d.content = documentContent(d)
		ls.documents[d.id] = d
	}
	return errs
}
