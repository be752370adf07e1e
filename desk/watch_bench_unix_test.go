//go:build unix

package desk

import (
	"syscall"
	"time"
)

// cpuTime is the CPU time (user and system) this process used so far, or
// 0 when getrusage fails.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
