package lookup

import "unsafe"

// prefetch asks the CPU to bring the cache line at p into the cache
// without waiting for it (PREFETCHT0). Unlike a load, it does not hold up
// the instructions after it, so FactsBatch can have many probes' cache
// misses in flight at once. It never faults.
//
//go:noescape
func prefetch(p unsafe.Pointer)
