package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTreezorBaseURLNeedsHTTPSBeyondLoopback(t *testing.T) {
	for _, tt := range []struct {
		url       string
		allowHTTP bool
		ok        bool
	}{
		{"https://sandbox-api.treezor.com", false, true},
		{"http://127.0.0.1:8090", false, true},
		{"http://localhost:8090", false, true},
		{"http://sim:8090", false, false},
		{"http://sim:8090", true, true},
		{"ftp://sim", true, false},
		{"sim:8090", false, false},
	} {
		err := requireHTTPS(tt.url, tt.allowHTTP)
		require.Equal(t, tt.ok, err == nil, "%s allowHTTP=%v: %v", tt.url, tt.allowHTTP, err)
	}
}
