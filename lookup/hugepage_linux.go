package lookup

import (
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// hugeMin is the smallest record array worth backing with huge pages.
const hugeMin = 8 << 20

// allocRecords returns a zeroed []uint64 of length n. A large one is
// mapped outside the Go heap and advised to use transparent huge pages:
// the scan probes it at random, and with 4 KiB pages nearly every probe
// also misses the TLB. owner's cleanup unmaps it.
func allocRecords[T any](owner *T, n int) []uint64 {
	size := n * 8
	if size < hugeMin || os.Getenv("CORPUS_AUDIT_NO_HUGEPAGES") != "" {
		return make([]uint64, n)
	}
	const huge = 2 << 20
	size = (size + huge - 1) &^ (huge - 1)
	mem, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]uint64, n)
	}
	_ = syscall.Madvise(mem, 14) // MADV_HUGEPAGE; advisory
	runtime.AddCleanup(owner, func(m []byte) { _ = syscall.Munmap(m) }, mem)
	return unsafe.Slice((*uint64)(unsafe.Pointer(&mem[0])), n)
}
