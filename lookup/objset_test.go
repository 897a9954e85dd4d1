package lookup

import (
	"math/rand/v2"
	"testing"
)

// TestObjSet checks objSet against a map: every member is found with its
// own evidence, and no other account is, for sizes around the bucket
// boundaries and for keys crafted to crowd one bucket.
func TestObjSet(t *testing.T) {
	// unmix inverts mix, to craft ids with chosen hashes.
	unmix := func(h uint64) uint64 {
		inv := func(x uint64, m uint64) uint64 { // inverse of x*m mod 2^64
			y := m
			for range 6 {
				y *= 2 - m*y
			}
			return x * y
		}
		h ^= h >> 33
		h = inv(h, 0xc4ceb9fe1a85ec53)
		h ^= h >> 33
		h = inv(h, 0xff51afd7ed558ccd)
		h ^= h >> 33
		return h
	}
	if got := mix(unmix(12345)); got != 12345 {
		t.Fatalf("unmix is not mix's inverse: mix(unmix(12345)) = %d", got)
	}
	cases := []struct {
		name string
		ids  func(r *rand.Rand) []int64
	}{
		{"empty", func(*rand.Rand) []int64 { return nil }},
		{"one", func(*rand.Rand) []int64 { return []int64{-7} }},
		{"seven", func(r *rand.Rand) []int64 { return randIDs(r, 7) }},
		{"4097", func(r *rand.Rand) []int64 { return randIDs(r, 4097) }},
		{"100k", func(r *rand.Rand) []int64 { return randIDs(r, 100_000) }},
		{"crowded bucket", func(r *rand.Rand) []int64 {
			ids := randIDs(r, 1000)
			for i := range 5000 { // same top 32 bits of h: one bucket
				ids = append(ids, int64(unmix(0xABCD_EF01<<32|uint64(i)*7919)))
			}
			return ids
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			ids := tc.ids(r)
			objectors := []objector{{id: 1, at: 10}, {id: 2, at: 20}, {id: 3, at: 30}}
			want := map[int64]objRec{}
			var recs []objRec
			for i, id := range ids {
				rec := objRec{h: mix(uint64(id)), who: uint32(i % 3)}
				if i%2 == 0 {
					rec.who |= hasCentre
					rec.centre = id ^ 0x5555
				}
				if _, dup := want[id]; dup {
					continue
				}
				want[id] = rec
				recs = append(recs, rec)
			}
			s := newObjSet(recs, objectors)
			if s.len() != len(want) {
				t.Fatalf("len = %d, want %d", s.len(), len(want))
			}
			for id, w := range want {
				i := s.find(mix(uint64(id)))
				if i < 0 {
					t.Fatalf("member %d not found", id)
				}
				if s.who[i] != w.who || (w.who&hasCentre != 0 && s.centre[i] != w.centre) {
					t.Fatalf("member %d: who %x centre %d, want %x %d", id, s.who[i], s.centre[i], w.who, w.centre)
				}
			}
			for range 20_000 {
				id := int64(r.Uint64())
				if _, ok := want[id]; !ok && s.find(mix(uint64(id))) >= 0 {
					t.Fatalf("non-member %d found", id)
				}
			}
			// Neighbours of members' hashes are not members.
			for id := range want {
				h := mix(uint64(id))
				for _, n := range []uint64{h - 1, h + 1} {
					if _, ok := want[int64(unmix(n))]; !ok && s.find(n) >= 0 {
						t.Fatalf("hash %x next to a member's found", n)
					}
				}
				break
			}
		})
	}
}

func randIDs(r *rand.Rand, n int) []int64 {
	ids := make([]int64, n)
	for i := range ids {
		ids[i] = int64(r.Uint64())
	}
	return ids
}
