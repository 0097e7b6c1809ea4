// Package gctune sets the garbage collector's target of a process that runs the embedded
// Temporal server (qesflow server, qesflow dev, qesflow bench): the server allocates a lot of
// short-lived memory per workflow task, and a higher target trades memory for collections.
package gctune

import (
	"fmt"
	"os"
	"runtime/debug"
)

// DefaultPercent is the target (GOGC) of a process that runs the embedded server, unless
// GOGC is set in its environment.
const DefaultPercent = 200

// Apply sets the garbage collector's target percentage to percent and returns the target in
// effect. Zero means the default: the runtime's when GOGC is set in the environment (the
// operator chose it), DefaultPercent otherwise. A negative percent is an error (turning the
// collector off is GOGC=off's business, not a tuning).
func Apply(percent int) (int, error) {
	switch {
	case percent < 0:
		return 0, fmt.Errorf("GC target %d: want a percentage above 0 (0: the default)", percent)
	case percent == 0 && os.Getenv("GOGC") != "":
		return Current(), nil
	case percent == 0:
		percent = DefaultPercent
	}
	debug.SetGCPercent(percent)
	return percent, nil
}

// Current is the target in effect (-1 when the collector is off).
func Current() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}
