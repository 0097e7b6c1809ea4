package main

import (
	"flag"
	"strconv"

	"github.com/qesflow/qesflow/internal/gctune"
)

// addGCFlag adds --gogc to a command whose process runs the embedded Temporal server.
func addGCFlag(fs *flag.FlagSet) *int {
	return fs.Int("gogc", envInt("QESFLOW_GOGC", 0),
		envHelp("garbage collector target percentage of this process, which runs the embedded Temporal server (0: "+
			strconv.Itoa(gctune.DefaultPercent)+", or GOGC when it is set); GOMEMLIMIT still caps the heap", "QESFLOW_GOGC"))
}
