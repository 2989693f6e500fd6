//go:build linux

package store

import "syscall"

// osMap maps n bytes of zeroed, private, anonymous memory. Pages cost RSS
// only once touched.
func osMap(n int) ([]byte, error) {
	return syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
}

// osUnmap unmaps memory returned by osMap.
func osUnmap(b []byte) { _ = syscall.Munmap(b) }

// osRelease gives the pages of b back to the OS; they read as zeros when
// next touched. b must be page-aligned.
func osRelease(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }
