//go:build !unix

package datanode

import "time"

// cpuTimes returns zero where getrusage is not available.
func cpuTimes() (sys, user time.Duration) { return 0, 0 }
