package bench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// memory is what /proc says of a process's resident memory, in bytes.
type memory struct {
	RSS  int64 // VmRSS: resident now
	Peak int64 // VmHWM: the highest RSS so far
}

// readMemory reads /proc/<pid>/status ("self" for this process).
func readMemory(pid string) (memory, error) {
	f, err := os.Open("/proc/" + pid + "/status")
	if err != nil {
		return memory{}, fmt.Errorf("read memory of process %s: %w", pid, err)
	}
	defer f.Close()
	var m memory
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		name, value, ok := strings.Cut(lines.Text(), ":")
		if !ok {
			continue
		}
		switch name {
		case "VmRSS":
			m.RSS, err = kilobytes(value)
		case "VmHWM":
			m.Peak, err = kilobytes(value)
		}
		if err != nil {
			return memory{}, fmt.Errorf("read memory of process %s: %s: %w", pid, name, err)
		}
	}
	if err := lines.Err(); err != nil {
		return memory{}, fmt.Errorf("read memory of process %s: %w", pid, err)
	}
	if m.RSS == 0 {
		return memory{}, fmt.Errorf("read memory of process %s: no VmRSS (not Linux?)", pid)
	}
	return m, nil
}

// kilobytes parses "   12345 kB".
func kilobytes(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(s), " kB"), 10, 64)
	return n * 1024, err
}

// megabytes formats bytes as MB (2^20).
func megabytes(b int64) string { return strconv.FormatFloat(float64(b)/(1<<20), 'f', 0, 64) + " MB" }
