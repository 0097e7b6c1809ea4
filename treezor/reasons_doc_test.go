package treezor

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReasonsDocMatchesCatalog checks docs/reasons.md: one row per catalog code, with the
// catalog's message, category and policy.
func TestReasonsDocMatchesCatalog(t *testing.T) {
	b, err := os.ReadFile("../docs/reasons.md")
	require.NoError(t, err)
	rows := map[int][]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 5 {
			continue
		}
		code, err := strconv.Atoi(cells[0])
		if err != nil {
			continue
		}
		require.NotContains(t, rows, code, "code %d listed twice", code)
		rows[code] = cells
	}
	for _, r := range Reasons() {
		row, ok := rows[r.Code]
		require.True(t, ok, "code %d missing from docs/reasons.md", r.Code)
		require.Equal(t, []string{r.Message, string(r.Category), string(r.Policy)}, row[1:4], "code %d", r.Code)
		require.NotEmpty(t, row[4], "code %d: why", r.Code)
		delete(rows, r.Code)
	}
	require.Empty(t, rows, "docs/reasons.md lists codes the catalog does not have")
}
