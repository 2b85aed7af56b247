//go:build !linux

package ada

// cpuTime is not measured outside Linux.
func cpuTime() (int64, bool) { return 0, false }
