package treezorsim

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qesflow/qesflow/treezor"
)

// selectCodes returns the option values of the <select id=…> in page.
func selectCodes(t *testing.T, page, id string) []int {
	t.Helper()
	block := regexp.MustCompile(`(?s)<select id="` + id + `"[^>]*>(.*?)</select>`).FindStringSubmatch(page)
	require.NotNil(t, block, "select %s", id)
	var codes []int
	for _, m := range regexp.MustCompile(`<option value="(\d+)">`).FindAllStringSubmatch(block[1], -1) {
		n, err := strconv.Atoi(m[1])
		require.NoError(t, err)
		codes = append(codes, n)
	}
	return codes
}

func catalogCodes(c treezor.Category) []int {
	var codes []int
	for _, r := range treezor.Reasons() {
		if r.Category == c {
			codes = append(codes, r.Code)
		}
	}
	return codes
}

func TestIdentificationPageOffersEveryReason(t *testing.T) {
	h := newHarness(t)
	ident := h.initiate("10001", "FR")
	status, page := h.get("/identifications/" + ident.IdentificationID)
	require.Equal(t, http.StatusOK, status)

	aborted, canceled, fraud := selectCodes(t, page, "abort-reason"), selectCodes(t, page, "cancel-reason"), selectCodes(t, page, "fraud-reason")
	require.Equal(t, catalogCodes(treezor.CategoryAborted), aborted)
	require.Equal(t, catalogCodes(treezor.CategoryCanceled), canceled)
	require.Equal(t, catalogCodes(treezor.CategoryFraud), fraud)
	require.Len(t, aborted, 21)
	require.Len(t, canceled, 41)
	require.Len(t, fraud, 15)
	require.Equal(t, len(treezor.Reasons()), len(aborted)+len(canceled)+len(fraud))
	require.Contains(t, page, "3011 USER_CANCELLATION_IDENTIFY_LATER")

	for _, id := range []string{"complete-success", "abort", "cancel", "fraud", "review-pending"} {
		require.Contains(t, page, `<button id="`+id+`"`)
	}
	require.Equal(t, 5, strings.Count(page, `method="post"`))
	require.NotContains(t, page, "<script")
	require.NotRegexp(t, `(src|href)="https?://`, page, "no external assets")
	require.NotContains(t, page, "Lovelace", "the page shows no PII")

	status, _ = h.get("/identifications/TRZ-NONE")
	require.Equal(t, http.StatusNotFound, status)
}

func TestIdentificationPageCompleteSuccessfully(t *testing.T) {
	h := newHarness(t)
	h.sim.CreateUser(completeUser("10101", "DE"))
	ident, err := h.client.InitiateQES(context.Background(), "10101", "https://app.example.com/done?step=2", "")
	require.NoError(t, err)

	status, page := h.postForm("/identifications/"+ident.IdentificationID+"/actions", url.Values{"action": {"success"}, "result": {"SUCCESS"}})
	require.Equal(t, http.StatusOK, status, page)
	require.Contains(t, page, `id="confirmation"`)
	require.Contains(t, page, `id="return-link" href="https://app.example.com/done?step=2"`)
	require.Contains(t, page, `<button id="sepa-payin"`, "DE users get the SEPA button")
	h.waitIdle()
	require.Equal(t, []string{treezor.EventQESCreated, treezor.EventQESProcessing, treezor.EventQESFinalized, treezor.EventDocumentCreate, treezor.EventDocumentCreate},
		eventTypes(h.rec.forUser("10101")))

	// The page now shows the end; a second submission is refused and sends nothing.
	_, page = h.get("/identifications/" + ident.IdentificationID)
	require.NotContains(t, page, `id="complete-success"`)
	require.Contains(t, page, `id="sepa-payin"`)
	status, page = h.postForm("/identifications/"+ident.IdentificationID+"/actions", url.Values{"action": {"success"}})
	require.Equal(t, http.StatusConflict, status)
	require.Contains(t, page, `id="error"`)

	status, page = h.postForm("/identifications/"+ident.IdentificationID+"/payin", nil)
	require.Equal(t, http.StatusOK, status, page)
	h.waitIdle()
	got := h.rec.forUser("10101")
	require.Equal(t, []string{treezor.EventPayinCreate, treezor.EventPayinUpdate}, eventTypes(got[5:]))
}

func TestIdentificationPageFailures(t *testing.T) {
	tests := []struct {
		name     string
		form     url.Values
		status   int
		wantType string
		wantCode int
		result   string
	}{
		{"abort", url.Values{"action": {"abort"}, "reasonCode": {"3011"}}, http.StatusOK, treezor.EventQESAborted, 3011, treezor.ResultAborted},
		{"cancel", url.Values{"action": {"cancel"}, "reasonCode": {"3141"}}, http.StatusOK, treezor.EventQESFinalized, 3141, treezor.ResultCanceled},
		{"fraud pending", url.Values{"action": {"fraud"}, "reasonCode": {"3212"}, "result": {"FRAUD_SUSPICION_PENDING"}}, http.StatusOK, treezor.EventQESFinalized, 3212, treezor.ResultFraudSuspicionPending},
		{"bad code", url.Values{"action": {"abort"}, "reasonCode": {"x"}}, http.StatusBadRequest, "", 0, ""},
		{"code out of category", url.Values{"action": {"cancel"}, "reasonCode": {"3201"}}, http.StatusBadRequest, "", 0, ""},
	}
	h := newHarness(t)
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			userID := strconv.Itoa(10200 + i)
			ident := h.initiate(userID, "FR")
			status, page := h.postForm("/identifications/"+ident.IdentificationID+"/actions", tc.form)
			require.Equal(t, tc.status, status, page)
			h.waitIdle()
			got := h.rec.forUser(userID)
			if tc.wantType == "" {
				require.Empty(t, got)
				return
			}
			require.NotContains(t, page, "sepa-payin")
			last := got[len(got)-1].event
			require.Equal(t, tc.wantType, last.Type)
			require.Equal(t, tc.wantCode, last.ReasonCode)
			require.Equal(t, tc.result, last.Result)
		})
	}
}

func TestKYCDeskPage(t *testing.T) {
	h := newHarness(t)
	for _, id := range []string{"10301", "10302"} {
		h.sim.CreateUser(completeUser(id, "FR"))
		_, err := h.client.RequestKYCReview(context.Background(), id, "")
		require.NoError(t, err)
	}
	status, page := h.get("/kyc")
	require.Equal(t, http.StatusOK, status)
	for _, id := range []string{"10301", "10302"} {
		require.Contains(t, page, `<button id="validate-`+id+`"`)
		require.Contains(t, page, `<button id="refuse-`+id+`"`)
		require.Contains(t, page, `id="comment-`+id+`"`)
	}

	status, page = h.postForm("/kyc/10301", url.Values{"decision": {"validate"}, "comment": {"all good"}})
	require.Equal(t, http.StatusOK, status, page)
	require.Contains(t, page, `id="confirmation"`)
	status, _ = h.postForm("/kyc/10301", url.Values{"decision": {"validate"}})
	require.Equal(t, http.StatusConflict, status, "already decided")
	status, _ = h.postForm("/kyc/10302", url.Values{"decision": {"shrug"}})
	require.Equal(t, http.StatusBadRequest, status)
	h.waitIdle()

	got := h.rec.forUser("10301")
	require.Len(t, got, 2)
	require.Equal(t, treezor.KYCReviewValidated, got[1].event.KYCReview)
	require.Equal(t, "all good", got[1].event.KYCReviewComment)

	_, page = h.get("/kyc")
	require.NotContains(t, page, `id="validate-10301"`)
	require.Contains(t, page, `id="validate-10302"`)
	require.Equal(t, []string{"10302"}, h.sim.PendingKYCReviews())

	status, page = h.get("/")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `href="/kyc"`)
}
