package treezorsim

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/qesflow/qesflow/treezor"
	"go.uber.org/zap"
)

// reasonsByCategory splits the catalog for the identification page's selects.
var reasonsByCategory = func() map[treezor.Category][]treezor.Reason {
	m := map[treezor.Category][]treezor.Reason{}
	for _, r := range treezor.Reasons() {
		m[r.Category] = append(m[r.Category], r)
	}
	return m
}()

type identificationPage struct {
	Ident                    Identification
	Open, CanAbort           bool
	ShowPayin                bool
	Aborted, Canceled, Fraud []treezor.Reason
}

type donePage struct {
	Title, Message, Error string
	Webhooks              []string
	Ident                 Identification
	ShowPayin             bool
	RedirectURL           string
	BackToDesk            bool
}

// handleIdentificationPage is GET /identifications/{id}: the end user's page.
func (s *Simulator) handleIdentificationPage(w http.ResponseWriter, r *http.Request) {
	ident, _, showPayin, ok := s.pageState(r.PathValue("id"))
	if !ok {
		s.renderDone(w, http.StatusNotFound, donePage{Title: "Unknown identification", Error: "No identification has this id."})
		return
	}
	s.render(w, http.StatusOK, "identification", identificationPage{
		Ident: ident, Open: ident.State == StateInitiated || ident.State == StateInReview,
		CanAbort: ident.State == StateInitiated, ShowPayin: showPayin,
		Aborted:  reasonsByCategory[treezor.CategoryAborted],
		Canceled: reasonsByCategory[treezor.CategoryCanceled],
		Fraud:    reasonsByCategory[treezor.CategoryFraud],
	})
}

// handleIdentificationForm is POST /identifications/{id}/actions (form fields action,
// reasonCode, result): performs the action and shows a confirmation page.
func (s *Simulator) handleIdentificationForm(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderDone(w, http.StatusBadRequest, donePage{Title: "Action refused", Error: "The form could not be read."})
		return
	}
	a := Action{Kind: ActionKind(r.PostForm.Get("action")), Result: r.PostForm.Get("result")}
	if code := r.PostForm.Get("reasonCode"); code != "" {
		n, err := strconv.Atoi(code)
		if err != nil {
			s.renderDone(w, http.StatusBadRequest, donePage{Title: "Action refused", Error: "The reason code must be a number."})
			return
		}
		a.ReasonCode = n
	}
	events, err := s.act(id, a)
	ident, redirect, showPayin, _ := s.pageState(id)
	if err != nil {
		s.renderDone(w, statusOf(err), donePage{Title: "Action refused", Error: err.Error(), Ident: ident})
		return
	}
	s.renderDone(w, http.StatusOK, donePage{
		Title: "Thank you", Message: fmt.Sprintf("Identification %s: %s (%s).", ident.ID, ident.State, describe(ident)),
		Webhooks: events, Ident: ident, ShowPayin: showPayin, RedirectURL: redirect,
	})
}

// handleIdentificationPayin is POST /identifications/{id}/payin: the SEPA payin button.
func (s *Simulator) handleIdentificationPayin(w http.ResponseWriter, r *http.Request) {
	ident, redirect, _, ok := s.pageState(r.PathValue("id"))
	if !ok {
		s.renderDone(w, http.StatusNotFound, donePage{Title: "Unknown identification", Error: "No identification has this id."})
		return
	}
	payinID, err := s.SEPAPayin(ident.UserID, "")
	if err != nil {
		s.renderDone(w, statusOf(err), donePage{Title: "Payin refused", Error: err.Error(), Ident: ident})
		return
	}
	s.renderDone(w, http.StatusOK, donePage{
		Title: "SEPA payin received", Message: "Payin " + payinID + " of " + DefaultPayinAmount + " EUR validated.",
		Webhooks: []string{treezor.EventPayinCreate, treezor.EventPayinUpdate}, Ident: ident, RedirectURL: redirect,
	})
}

// pageState returns what the pages show of an identification.
func (s *Simulator) pageState(id string) (ident Identification, redirectURL string, showPayin, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.idents[id]
	if !ok {
		return Identification{}, "", false, false
	}
	u := s.users[i.UserID]
	showPayin = i.State == StateFinalized && treezor.ClassifyResult(i.Result) == treezor.ResultClassSuccess && u != nil && u.isDE()
	return i.Identification, i.redirectURL, showPayin, true
}

func describe(i Identification) string {
	if i.Reason == 0 {
		return i.Result
	}
	return fmt.Sprintf("%s, reason %d %s", i.Result, i.Reason, treezor.LookupReason(i.Reason).Message)
}

type pendingReview struct {
	UserID, Country string
	RequestedAt     string
}

type kycPage struct {
	Pending   []pendingReview
	Decisions []decisionRecord
}

// handleKYCDesk is GET /kyc: pending reviews with Validate and Refuse buttons.
func (s *Simulator) handleKYCDesk(w http.ResponseWriter, _ *http.Request) {
	s.mu.Lock()
	var page kycPage
	for _, id := range s.pendingReviewsLocked() {
		u := s.users[id]
		page.Pending = append(page.Pending, pendingReview{
			UserID: id, Country: u.Country, RequestedAt: u.review.requestedAt.UTC().Format(time.RFC3339),
		})
	}
	for i := len(s.decisions) - 1; i >= 0; i-- {
		page.Decisions = append(page.Decisions, s.decisions[i])
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "kyc", page)
}

// handleKYCDeskForm is POST /kyc/{userId} (form fields decision, comment).
func (s *Simulator) handleKYCDeskForm(w http.ResponseWriter, r *http.Request) {
	userID := r.PathValue("userId")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderDone(w, http.StatusBadRequest, donePage{Title: "Decision refused", Error: "The form could not be read.", BackToDesk: true})
		return
	}
	decision := KYCDecision(r.PostForm.Get("decision"))
	if err := s.DecideKYC(userID, decision, r.PostForm.Get("comment")); err != nil {
		s.renderDone(w, statusOf(err), donePage{Title: "Decision refused", Error: err.Error(), BackToDesk: true})
		return
	}
	s.renderDone(w, http.StatusOK, donePage{
		Title: "Decision sent", Message: fmt.Sprintf("KYC review of user %s: %s.", userID, decision),
		Webhooks: []string{treezor.EventUserKYCReview}, BackToDesk: true,
	})
}

type indexPage struct {
	PendingReviews  int
	Identifications []Identification
}

// handleIndex is GET /: recent identifications and the way to the KYC desk.
func (s *Simulator) handleIndex(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	page := indexPage{PendingReviews: len(s.pendingReviewsLocked())}
	for i := len(s.identOrder) - 1; i >= 0 && len(page.Identifications) < 50; i-- {
		page.Identifications = append(page.Identifications, s.idents[s.identOrder[i]].Identification)
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "index", page)
}

func (s *Simulator) renderDone(w http.ResponseWriter, status int, page donePage) {
	s.render(w, status, "done", page)
}

// render executes a page template into a buffer first, so a template error is a clean 500.
func (s *Simulator) render(w http.ResponseWriter, status int, name string, data any) {
	var buf bytes.Buffer
	if err := pageTemplates.ExecuteTemplate(&buf, name, data); err != nil {
		s.log.Error("render page", zap.String("page", name), zap.Error(err))
		http.Error(w, "page rendering failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
