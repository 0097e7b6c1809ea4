package console

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/qesflow/qesflow/starter"
	"github.com/qesflow/qesflow/workflows"
)

// maxNoteLen bounds the decision note (the API's own limit applies too).
const maxNoteLen = 2000

// page is what every template gets.
type page struct {
	Title    string
	Operator string
	CSRF     string
	Flash    string
	Error    string
	Data     any
}

func (c *Console) render(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := templates.ExecuteTemplate(&buf, name, p); err != nil {
		c.log.Error("console: render", zap.String("template", name), zap.Error(err))
		http.Error(w, "Internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageFor is the page of a signed-in operator. It shows the session's flash message once and
// re-issues the cookies when the flash is consumed or they are a minute old (the idle
// expiry slides).
func (c *Console) pageFor(w http.ResponseWriter, r *http.Request, sess *session, title string) page {
	if sess.claims.Flash != "" || c.cfg.Now().Sub(sess.claims.SeenAt) >= refreshEvery {
		c.issue(w, r, sess, "")
	}
	return page{Title: title, Operator: sess.operator(), CSRF: sess.csrf, Flash: sess.claims.Flash}
}

func (c *Console) callCtx(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(r.Context(), 20*time.Second)
}

// queueData is the queue page.
type queueData struct {
	Cases        []queueItem
	Unclassified []queueItem
	KYCOverdue   []queueItem
	DataWaiting  []queueItem
	DataWait     time.Duration
}

func (c *Console) queuePage(w http.ResponseWriter, r *http.Request, sess *session) {
	ctx, cancel := c.callCtx(r)
	defer cancel()
	p := c.pageFor(w, r, sess, "Queue")
	var d queueData
	d.DataWait = c.cfg.DataWait
	cases, err := c.loadItems(ctx, workflows.StateComplianceReview)
	if err == nil {
		d.Cases = cases
		for _, it := range cases {
			if it.Unclassified {
				d.Unclassified = append(d.Unclassified, it)
			}
		}
		d.KYCOverdue, err = c.loadItems(ctx, workflows.StateKYCReviewOverdue)
	}
	if err == nil {
		var waiting []queueItem
		waiting, err = c.loadItems(ctx, workflows.StateUserDataIncomplete, workflows.StateUserUnknown)
		for _, it := range waiting {
			if it.Waiting >= c.cfg.DataWait {
				d.DataWaiting = append(d.DataWaiting, it)
			}
		}
	}
	if err != nil {
		c.log.Error("console: queue", zap.Error(err))
		p.Error = "Temporal did not answer; the lists may be incomplete. Reload in a moment."
	}
	p.Data = d
	c.render(w, http.StatusOK, "queue", p)
}

// caseData is the case page.
type caseData struct {
	UserID      string
	Status      workflows.Status
	Attempts    []attempt
	Since       time.Time
	Decidable   bool
	NoteMissing bool
}

func (c *Console) casePage(w http.ResponseWriter, r *http.Request, sess *session) {
	c.showCase(w, r, sess, http.StatusOK, "", false)
}

func (c *Console) showCase(w http.ResponseWriter, r *http.Request, sess *session, status int, msg string, noteMissing bool) {
	userID := r.PathValue("userId")
	p := c.pageFor(w, r, sess, "Case "+userID)
	if msg != "" {
		p.Error = msg
	}
	if err := starter.ValidUserID(userID); err != nil {
		p.Error = "No such user id."
		c.render(w, http.StatusNotFound, "case", p)
		return
	}
	ctx, cancel := c.callCtx(r)
	defer cancel()
	st, err := c.svc.Details(ctx, userID)
	if err != nil {
		code := http.StatusBadGateway
		p.Error = "The onboarding could not be read: " + starter.KindOf(err).String() + "."
		if starter.KindOf(err) == starter.KindNotFound {
			code, p.Error = http.StatusNotFound, "No onboarding for this user."
		}
		c.render(w, code, "case", p)
		return
	}
	p.Data = caseData{
		UserID: userID, Status: st, Attempts: attemptsOf(st), Since: stateSince(st),
		Decidable: st.State == workflows.StateComplianceReview, NoteMissing: noteMissing,
	}
	c.render(w, status, "case", p)
}

// decide sends the operator's decision as the workflow's compliance-decision update, with
// the operator's name and note in its input (so in the history).
func (c *Console) decide(w http.ResponseWriter, r *http.Request, sess *session) {
	userID := r.PathValue("userId")
	decision := r.PostFormValue("decision")
	note := strings.TrimSpace(r.PostFormValue("note"))
	if decision != workflows.DecisionClear && decision != workflows.DecisionReject {
		c.showCase(w, r, sess, http.StatusBadRequest, "Choose clear or reject.", false)
		return
	}
	if note == "" || len(note) > maxNoteLen {
		c.showCase(w, r, sess, http.StatusBadRequest, "A note (at most 2,000 characters) is required: say why.", true)
		return
	}
	ctx, cancel := c.callCtx(r)
	defer cancel()
	res, err := c.svc.ComplianceDecision(ctx, userID, workflows.ComplianceDecision{
		Decision: decision, Note: note, Operator: sess.operator(),
	})
	if err != nil {
		msg := "The decision was not recorded: " + starter.KindOf(err).String() + "."
		status := http.StatusBadGateway
		switch starter.KindOf(err) {
		case starter.KindNotApplicable, starter.KindClosed:
			status = http.StatusConflict
			msg = "This case is no longer waiting for a decision (someone decided it meanwhile, or it ended): your decision was not recorded. The page shows its state now."
		case starter.KindInvalid:
			status = http.StatusBadRequest
			msg = "The decision was refused: " + err.Error()
		}
		c.log.Info("console: decision refused", zap.String("operator", sess.operator()), zap.String("userId", userID),
			zap.String("outcome", starter.KindOf(err).String()))
		c.showCase(w, r, sess, status, msg, false)
		return
	}
	c.log.Info("console: decision recorded", zap.String("operator", sess.operator()), zap.String("userId", userID),
		zap.String("decision", decision), zap.String("state", string(res.Result.State)))
	c.issue(w, r, sess, "Decision recorded: "+decision+". The onboarding is now "+string(res.Result.State)+".")
	http.Redirect(w, r, "/console/cases/"+url.PathEscape(userID), http.StatusSeeOther)
}
