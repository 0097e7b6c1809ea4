package devstack

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/workflows"
)

// fraudCase starts an onboarding for userID and has the provider suspect fraud (3201), so
// that it waits in COMPLIANCE_REVIEW.
func fraudCase(t *testing.T, s *Stack, userID string) {
	t.Helper()
	createSimUser(t, s, userID, "FR")
	a := startOnboarding(t, s, userID)
	code := call(t, http.MethodPost, s.SimURL+"/sim/identifications/"+identificationID(t, a.IdentificationURL)+"/actions", "",
		map[string]any{"action": "fraud", "reasonCode": 3201}, nil)
	require.Less(t, code, 300, "sim fraud action")
	waitState(t, s, userID, workflows.StateComplianceReview)
}

// browserPage drives one headless Chromium tab for a test.
type browserPage struct {
	t   *testing.T
	ctx context.Context
}

// do runs the steps within a minute; when they fail, the page's text is in the failure.
func (b browserPage) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		page, _ := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`body`)))
		loc, _ := chromedp.Run(b.ctx, chromedp.Location())
		b.t.Fatalf("browser steps failed: %v\nat %s the page reads:\n%s", err, loc, page)
	}
}

// waitFor polls the current document (whichever page a form submission led to) until an
// element matches sel.
func (b browserPage) waitFor(sel string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	deadline := time.Now().Add(time.Minute)
	for {
		found, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool]("document.querySelector("+string(q)+") !== null"))
		if err == nil && found {
			return
		}
		if time.Now().After(deadline) {
			page, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.body ? document.body.innerText : ''"))
			b.t.Fatalf("no %s on the page (last error %v); it reads:\n%s", sel, err, page)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b browserPage) text(sel string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[string]("document.querySelector("+string(q)+").innerText"))
	require.NoError(b.t, err)
	return v
}

func (b browserPage) location() string {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	return v
}

// screenshot saves the page as console-NAME.png in QESFLOW_SCREENSHOT_DIR when it is set
// (the README's screenshots: QESFLOW_SCREENSHOT_DIR=$PWD/docs go test ./devstack -run TestConsoleBrowser).
func (b browserPage) screenshot(name string) {
	b.t.Helper()
	dir := os.Getenv("QESFLOW_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	b.do(chromedp.EmulateViewport(1280, 900))
	shot, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	require.NoError(b.t, err)
	require.NoError(b.t, os.WriteFile(filepath.Join(dir, "console-"+name+".png"), shot, 0o644))
}

// TestConsoleBrowser plays a compliance operator in headless Chromium: a signed-out browser is
// sent to sign-in, the operator signs in with the named compliance key, finds the fraud case
// in the queue, a decision whose CSRF token was removed is refused, the real decision is
// recorded under the operator's name, the case leaves the queue, a second decision on the
// decided case answers with a clear message, and after sign-out the queue needs sign-in again.
func TestConsoleBrowser(t *testing.T) {
	browser := chromiumPath(t)
	s := startStack(t, freeConfig(t.TempDir(), true))
	fraudCase(t, s, "7401")
	fraudCase(t, s, "7402")
	console := s.APIURL + "/console"

	b := browserPage{t: t, ctx: newBrowserBudget(t, browser, 5*time.Minute)}
	// Start the browser on the test's context, so the steps' shorter contexts do not own it.
	require.NoError(t, chromedp.Do(b.ctx))
	b.do(
		chromedp.Navigate(console + "/queue"),
	)
	b.waitFor(`#key`)
	loc := b.location()
	require.Equal(t, console+"/signin", loc, "a signed-out browser is sent to sign-in")
	b.screenshot("signin")

	// A wrong key is refused (and slowed down) and keeps the operator on the sign-in page.
	b.do(
		chromedp.SendKeys(chromedp.CSS(`#key`), "not-a-key"),
		chromedp.Click(chromedp.CSS(`#signin`)),
	)
	b.waitFor(`#error`)
	body := b.text(`#error`)
	require.Contains(t, body, "Wrong key")

	b.do(
		chromedp.SendKeys(chromedp.CSS(`#key`), s.Credentials.ComplianceKey),
		chromedp.Click(chromedp.CSS(`#signin`)),
	)
	b.waitFor(`#case-7401`)
	body = b.text(`#operator`)
	require.Equal(t, "dev-compliance", body)
	queue := b.text(`#compliance-queue`)
	require.Contains(t, queue, "3201")
	require.Less(t, strings.Index(queue, "7401"), strings.Index(queue, "7402"), "oldest first")
	b.screenshot("queue")

	b.do(
		chromedp.Click(chromedp.CSS(`#case-7401`)),
	)
	b.waitFor(`#decision-form`)
	b.screenshot("case")

	// The same form without its CSRF token is refused and decides nothing.
	_, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`(() => { document.querySelector("#decision-form input[name=csrf]").remove(); return true })()`))
	require.NoError(t, err)
	b.do(
		chromedp.Click(chromedp.CSS(`#decision-reject`)),
		chromedp.SendKeys(chromedp.CSS(`#note`), "forged passport"),
		chromedp.Click(chromedp.CSS(`#decide`)),
	)
	b.waitFor(`pre`)
	body = b.text(`pre`)
	require.Contains(t, body, "CSRF token is missing or wrong")
	waitState(t, s, "7401", workflows.StateComplianceReview)

	b.do(
		chromedp.Navigate(console+"/cases/7401"),
		chromedp.WaitVisible(chromedp.CSS(`#decision-form`)),
		chromedp.Click(chromedp.CSS(`#decision-reject`)),
		chromedp.SendKeys(chromedp.CSS(`#note`), "forged passport"),
		chromedp.Click(chromedp.CSS(`#decide`)),
	)
	b.waitFor(`#flash`)
	body = b.text(`#flash`)
	require.Contains(t, body, "Decision recorded: reject")
	timeline := b.text(`#timeline`)
	require.Contains(t, timeline, "dev-compliance")
	require.Contains(t, timeline, "reject: forged passport")
	st := waitState(t, s, "7401", workflows.StateRejected)
	require.Equal(t, "forged passport", st.ComplianceNote)

	b.do(
		chromedp.Navigate(console + "/queue"),
	)
	b.waitFor(`#case-7402`)
	queue = b.text(`#compliance-queue`)
	require.NotContains(t, queue, "7401", "a decided case leaves the queue")

	// Two operators on one case: the second decision finds it decided and says so.
	b.do(
		chromedp.Navigate(console + "/cases/7402"),
	)
	b.waitFor(`#decision-form`)
	code := call(t, http.MethodPost, s.APIURL+"/v1/onboardings/7402/compliance-decision", s.Credentials.ComplianceKey,
		map[string]string{"decision": "clear", "note": "decided through the API"}, nil)
	require.Equal(t, http.StatusOK, code)
	b.do(
		chromedp.Click(chromedp.CSS(`#decision-clear`)),
		chromedp.SendKeys(chromedp.CSS(`#note`), "looks fine"),
		chromedp.Click(chromedp.CSS(`#decide`)),
	)
	b.waitFor(`#error`)
	body = b.text(`#error`)
	require.Contains(t, body, "no longer waiting for a decision")

	b.do(
		chromedp.Navigate(console + "/overview"),
	)
	b.waitFor(`#chart-funnel svg`)
	body = b.text(`#chart-states`)
	require.Contains(t, body, "REJECTED")
	b.screenshot("overview")

	b.do(chromedp.Click(chromedp.CSS(`#signout`)))
	b.waitFor(`#key`)
	b.do(chromedp.Navigate(console + "/queue"))
	b.waitFor(`#key`)
	loc = b.location()
	require.Equal(t, console+"/signin", loc, "after sign-out the queue needs sign-in again")
}
