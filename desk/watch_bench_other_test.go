//go:build !unix

package desk

import "time"

// cpuTime is 0 where getrusage is not available: the benchmark then
// reports no CPU time per message.
func cpuTime() time.Duration { return 0 }
