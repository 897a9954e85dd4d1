//go:build !linux

package lookup

// allocRecords returns a zeroed []uint64 of length n.
func allocRecords[T any](owner *T, n int) []uint64 { return make([]uint64, n) }
