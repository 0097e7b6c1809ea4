package embedded

import "testing"

func TestCompareSchemaVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int // sign
	}{
		{"1.9", "1.10", -1}, {"1.10", "1.9", 1}, {"1.19", "1.19", 0}, {"0.0", "1.0", -1},
		{"1", "1.0", 0}, {"2.0", "1.99", 1}, {"1.0.1", "1.0", 1},
	} {
		got := compareSchemaVersions(tc.a, tc.b)
		if (got < 0 && tc.want >= 0) || (got > 0 && tc.want <= 0) || (got == 0 && tc.want != 0) {
			t.Errorf("compareSchemaVersions(%q, %q) = %d, want sign %d", tc.a, tc.b, got, tc.want)
		}
	}
}
