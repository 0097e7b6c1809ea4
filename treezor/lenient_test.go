package treezor

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// unquoteSeeds are JSON string literals of every kind unquote must handle like json.Unmarshal:
// plain, escaped, non-ASCII, invalid UTF-8, and bytes that are not a complete literal.
var unquoteSeeds = []string{
	`""`, `"abc"`, `" 100200 "`, `"sink-17"`, `"a\"b"`, `"a\\b"`, `"a\/b"`, `"\u00e9"`, `"Müller"`,
	"\"\xff\"", "\"a\x01b\"", "\"\xe2\x82\"", `"😀"`, `"`, `"abc`, `abc"`, `"a"b"`, `123`, `null`, ``,
}

func TestUnquoteMatchesJSONUnmarshal(t *testing.T) {
	for _, in := range unquoteSeeds {
		checkUnquote(t, []byte(in))
	}
}

func FuzzUnquote(f *testing.F) {
	for _, in := range unquoteSeeds {
		f.Add([]byte(in))
	}
	f.Fuzz(checkUnquote)
}

// checkUnquote requires unquote to give what json.Unmarshal gives for in: the same string,
// or an error for both.
func checkUnquote(t *testing.T, in []byte) {
	var want string
	wantErr := json.Unmarshal(in, &want)
	got, err := unquote(in)
	if wantErr != nil {
		require.Error(t, err, "%q", in)
		return
	}
	require.NoError(t, err, "%q", in)
	require.Equal(t, want, got, "%q", in)
}
