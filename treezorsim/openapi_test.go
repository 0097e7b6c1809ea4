package treezorsim

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/stretchr/testify/require"
)

// TestSimulatorServesOpenAPI: GET /openapi.json answers a valid OpenAPI 3.1 document that
// describes every API and script route, including the user update, and real answers of the
// script endpoints match it.
func TestSimulatorServesOpenAPI(t *testing.T) {
	h := newHarness(t)
	resp, err := http.Get(h.srv.URL + "/openapi.json")
	require.NoError(t, err)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, resp.Body.Close())
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	doc, err := libopenapi.NewDocument(body)
	require.NoError(t, err)
	v, errs := validator.NewValidator(doc)
	require.Empty(t, errs)
	ok, verrs := v.ValidateDocument()
	require.True(t, ok, "%v", verrs)
	model, err := doc.BuildV3Model()
	require.NoError(t, err)
	for _, route := range []string{
		"POST /oauth/token", "POST /v1/users", "GET /v1/users/{userId}", "PUT /v1/users/{userId}",
		"POST /v1/users/{userId}/qes", "PUT /v1/users/{userId}/Kycreview", "GET /v1/documents/{documentId}/download",
		"POST /sim/users", "GET /sim/users/{userId}", "POST /sim/identifications/{id}/actions",
		"POST /sim/users/{userId}/kycreview", "POST /sim/users/{userId}/payins", "GET /sim/stats", "GET /openapi.json",
	} {
		method, path, _ := strings.Cut(route, " ")
		item, found := model.Model.Paths.PathItems.Get(path)
		require.True(t, found, "%s is not documented", route)
		require.NotNil(t, item.GetOperations().GetOrZero(strings.ToLower(method)), "%s is not documented", route)
	}

	// A real exchange with the script endpoints matches the document.
	send := func(method, path, reqBody string) {
		req, err := http.NewRequest(method, h.srv.URL+path, strings.NewReader(reqBody))
		require.NoError(t, err)
		if reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		respBody, err := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, err)
		vreq, _ := http.NewRequest(method, "http://localhost:8090"+path, bytes.NewReader([]byte(reqBody)))
		if reqBody != "" {
			vreq.Header.Set("Content-Type", "application/json")
		}
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
		ok, errs := v.ValidateHttpRequestResponse(vreq, resp)
		require.True(t, ok, "%s %s: %d %s: %v", method, path, resp.StatusCode, respBody, errs)
	}
	send(http.MethodPost, "/sim/users", `{"userId":"77","firstname":"A","lastname":"B","email":"a@example.com","country":"FR","phone":"+33600000000"}`)
	send(http.MethodGet, "/sim/users/77", "")
	send(http.MethodGet, "/sim/stats", "")
}
