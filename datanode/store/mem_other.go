//go:build !linux

package store

// On systems without the Linux mmap API the arena's chunks are large
// pointer-free Go allocations, which the garbage collector never scans.

func osMap(n int) ([]byte, error) { return make([]byte, n), nil }

func osUnmap([]byte) {}

func osRelease([]byte) {}
