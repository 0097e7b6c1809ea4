package gctune

import (
	"runtime/debug"
	"testing"
)

func TestApply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	for _, tc := range []struct {
		name    string
		gogc    string // GOGC in the environment ("" unset)
		percent int
		want    int
		wantErr bool
	}{
		{name: "default", percent: 0, want: DefaultPercent},
		{name: "explicit", percent: 150, want: 150},
		{name: "explicit wins over GOGC", gogc: "80", percent: 300, want: 300},
		{name: "GOGC kept by the default", gogc: "80", percent: 0, want: 80},
		{name: "negative", percent: -1, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			debug.SetGCPercent(100)
			if tc.gogc != "" {
				debug.SetGCPercent(80) // what the runtime read from GOGC at start
			}
			got, err := Apply(tc.percent)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("Apply(%d) = %d, want an error", tc.percent, got)
				}
				if Current() != 100 {
					t.Fatalf("a refused target changed the collector's to %d", Current())
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want || Current() != tc.want {
				t.Fatalf("Apply(%d) = %d, collector at %d; want %d", tc.percent, got, Current(), tc.want)
			}
		})
	}
}
