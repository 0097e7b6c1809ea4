package devstack

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/workflows"
)

// chromiumPath finds Debian's Chromium. .ci/run installs it; outside CI a developer without a
// browser gets a skip that says how to install one, while CI fails instead of skipping.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium on PATH: .ci/run must install Debian's chromium package")
	}
	t.Skip("no Chromium on PATH (apt-get install chromium); CI runs this test")
	return ""
}

// newBrowser starts headless Chromium for one test, with the flags that keep it off the
// network (this machine has none), and returns its context (90 s budget).
func newBrowser(t *testing.T, browser string) context.Context {
	t.Helper()
	return newBrowserBudget(t, browser, 90*time.Second)
}

// newBrowserBudget is newBrowser with a budget of its own, for longer walks through pages.
func newBrowserBudget(t *testing.T, browser string, budget time.Duration) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, budget)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// TestBrowserCompletesOnboarding plays the end user and the KYC officer in a real headless
// browser: it opens the identification page, clicks "Complete successfully", validates the
// review on the KYC desk page, and the onboarding completes.
func TestBrowserCompletesOnboarding(t *testing.T) {
	browser := chromiumPath(t)
	s := startStack(t, freeConfig(t.TempDir(), true))
	createSimUser(t, s, "7301", "FR")
	a := startOnboarding(t, s, "7301")

	ctx := newBrowser(t, browser)

	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(a.IdentificationURL),
		chromedp.WaitVisible(chromedp.ID("complete-success")),
		chromedp.Click(chromedp.ID("complete-success")),
		chromedp.WaitVisible(chromedp.ID("confirmation")),
	))
	confirmation, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("confirmation")))
	require.NoError(t, err)
	require.NotEmpty(t, confirmation)
	if dir := os.Getenv("QESFLOW_SCREENSHOT_DIR"); dir != "" {
		shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "identification-done.png"), shot, 0o644))
	}

	waitState(t, s, "7301", workflows.StateKYCReviewPending)
	waitReviewAtDesk(t, s, "7301")
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(s.SimURL+"/kyc"),
		chromedp.WaitVisible(chromedp.ID("validate-7301")),
		chromedp.Click(chromedp.ID("validate-7301")),
		chromedp.WaitVisible(chromedp.ID("confirmation")),
	))
	waitState(t, s, "7301", workflows.StateCompletedValidated)
}
