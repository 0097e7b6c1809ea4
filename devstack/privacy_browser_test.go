package devstack

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestBrowserUIShowsDecryptedPayloads opens the workflow in the embedded Temporal Web UI in a
// real headless browser: the payloads are encrypted in history, and the page shows them
// decrypted through the codec endpoint (the workflow input's JSON keys are only readable
// after decryption).
func TestBrowserUIShowsDecryptedPayloads(t *testing.T) {
	browser := chromiumPath(t)
	s := startStack(t, freeConfig(t.TempDir(), true))
	createSimUser(t, s, "7401", "FR")
	a := startOnboarding(t, s, "7401")

	ctx := newBrowser(t, browser)

	page := fmt.Sprintf("%s/namespaces/%s/workflows/%s/%s/history", s.UIURL, s.Server.Namespace(),
		url.PathEscape(a.WorkflowID), url.PathEscape(a.RunID))
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(page)))
	_, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.body.innerText.includes('"userId"') && document.body.innerText.includes('7401')`,
		chromedp.WithPollingInterval(200*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
	if dir := os.Getenv("QESFLOW_SCREENSHOT_DIR"); dir != "" {
		shot, shotErr := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, shotErr)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "ui-decrypted.png"), shot, 0o644))
	}
	if err != nil {
		text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("the UI never showed the decrypted workflow input: %v\npage text:\n%s", err, text)
	}
}
