package scan

import (
	"bytes"
	"strings"
	"testing"
)

// TestCheckPageChecksums: a chunk of pages with checksums passes; a
// changed byte in a page body is named; a chunk cut short is not an error
// (CheckPageChecksums checks checksums only).
func TestCheckPageChecksums(t *testing.T) {
	data := validFile(t) // parquet-go: every page carries a CRC
	start, n := chunkOf(t, data, 0, "author_id")
	chunk := data[start : start+n]
	if err := CheckPageChecksums(chunk); err != nil {
		t.Fatalf("intact chunk: %v", err)
	}
	bad := bytes.Clone(chunk)
	bad[len(bad)-1] ^= 1
	if err := CheckPageChecksums(bad); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Fatalf("changed byte: %v, want a checksum mismatch", err)
	}
	if err := CheckPageChecksums(chunk[:len(chunk)-3]); err != nil {
		t.Fatalf("chunk cut short: %v, want no error", err)
	}
}
