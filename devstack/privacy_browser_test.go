package devstack

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestBrowserUIShowsDecryptedPayloads opens the workflow in the embedded Temporal Web UI in a
// real headless browser. Signed out, the UI's request to the codec endpoint is refused (401):
// the Web UI's origin is not a credential. The operator then signs in to the compliance
// console on the codec's host, and the same page shows the payloads decrypted through the
// codec endpoint (the workflow input's JSON keys are only readable after decryption): the
// browser sent the console's codec cookie with the UI's decode request.
func TestBrowserUIShowsDecryptedPayloads(t *testing.T) {
	browser := chromiumPath(t)
	s := startStack(t, freeConfig(t.TempDir(), true))
	createSimUser(t, s, "7401", "FR")
	a := startOnboarding(t, s, "7401")

	b := browserPage{t: t, ctx: newBrowserBudget(t, browser, 4*time.Minute)}
	require.NoError(t, chromedp.Do(b.ctx))
	decodes := make(chan int64, 256)
	require.NoError(t, chromedp.Listen(b.ctx, func(ev any) {
		r, ok := ev.(*network.EventResponseReceived)
		if !ok || r.Response == nil || r.Type == network.ResourceTypePreflight || !isDecode(r.Response.URL) {
			return
		}
		select {
		case decodes <- r.Response.Status:
		default:
		}
	}))
	nextDecode := func() int64 {
		t.Helper()
		select {
		case st := <-decodes:
			return st
		case <-time.After(time.Minute):
			text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ''`))
			t.Fatalf("the UI sent no decode request; the page reads:\n%s", text)
			return 0
		}
	}

	page := fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", s.UIURL, s.Server.Namespace(),
		url.PathEscape(a.WorkflowID), url.PathEscape(a.RunID))
	b.do(chromedp.Navigate(page))
	require.EqualValues(t, 401, nextDecode(), "signed out: the codec refuses the UI's request")

	// Sign in to the console on the codec's host (the API's address).
	b.do(chromedp.Navigate(s.APIURL + "/console/signin"))
	b.waitFor(`#key`)
	b.do(
		chromedp.SendKeys(chromedp.CSS(`#key`), s.Credentials.ComplianceKey),
		chromedp.Click(chromedp.CSS(`#signin`)),
	)
	b.waitFor(`#operator`)
	for len(decodes) > 0 {
		<-decodes
	}

	b.do(chromedp.Navigate(page))
	// The UI may replace its page while it loads, which destroys the context a poll runs in:
	// poll again in the new one until the deadline.
	var err error
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		_, err = chromedp.Run(b.ctx, chromedp.Poll[bool](`document.body.innerText.includes('"userId"') && document.body.innerText.includes('7401')`,
			chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil || !strings.Contains(err.Error(), "Cannot find context") {
			break
		}
	}
	if dir := os.Getenv("QESFLOW_SCREENSHOT_DIR"); dir != "" {
		shot, shotErr := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
		require.NoError(t, shotErr)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "ui-decrypted.png"), shot, 0o644))
	}
	if err != nil {
		text, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the UI never showed the decrypted workflow input: %v\npage text:\n%s", err, text)
	}
	// Signed in: a decode answered 200 (a late 401 of the signed-out page may come first).
	for st := nextDecode(); st != 200; st = nextDecode() {
		require.EqualValues(t, 401, st)
	}
}

// isDecode reports whether a request URL is the codec endpoint's decode.
func isDecode(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.HasSuffix(u.Path, "/codec/decode")
}
