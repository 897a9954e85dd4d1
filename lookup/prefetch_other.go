//go:build !amd64

package lookup

import "unsafe"

// prefetch is a no-op where no prefetch instruction is wired up;
// FactsBatch's loads then overlap only as far as the CPU reorders them.
func prefetch(p unsafe.Pointer) {}
