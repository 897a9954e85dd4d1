package lakegen

import (
	"strconv"
	"time"

	"github.com/corpus-audit/corpus-audit/schema"
)

// The strings the corpus uses. Rows point into these arrays (a nil pointer
// is a null), so writing a row copies no string.
var (
	platforms = [...]string{"facebook", "instagram", "threads", "messenger"}

	typesClean     = [...]string{"post", "post", "post", "post", "comment", "comment", "comment", "photo", "photo", "video", "reel", "story", "caption"}
	typesQuirk     = [...]string{"POST", " Post", "comment ", "Photo", " VIDEO ", "Reel", "STORY", "Caption", "  reel ", "\tpost"}
	typesAI        = [...]string{"ai_interaction", "ai_interaction", "AI_INTERACTION", " ai_interaction ", " AI_Interaction "}
	typesMessage   = [...]string{"message", "message", "Message", "MESSAGE", " message"}
	typesUnknown   = [...]string{"live_audio", "note", "poll", "", "posts", "ai interaction"}
	visPublic      = [...]string{"public"}
	visQuirk       = [...]string{" Public ", "PUBLIC", "Public", "public ", " public"}
	visPrivate     = [...]string{"friends", "friends", "Friends", "only_me", "private", "custom", " friends_of_friends", "", "public_link", "publicly"}
	langs          = [...]string{"en", "en", "en", "es", "pt", "fr", "de", "it", "ja", "ko", "ar", "hi", "id", "tr"}
	strPost        = &typesClean[0]
	strPublic      = &visPublic[0]
	strMessage     = &typesMessage[0]
	strAI          = &typesAI[0]
	strFriends     = &visPrivate[0]
	strPrivate     = &visPrivate[4]
	strEmpty       = &visPrivate[7]
	strPublicLink  = &visPrivate[8]
	strLiveAudio   = &typesUnknown[0]
	strPostUpper   = &typesQuirk[0]
	strPhotoTitle  = &typesQuirk[3]
	strReelSpaces  = &typesQuirk[8]
	strAIQuirk     = &typesAI[4]
	strPublicSpace = &visQuirk[0]
	strPublicUpper = &visQuirk[1]
	strPublicTrail = &visQuirk[3]
)

func pick[T any](r *rng, a []T) *T { return &a[r.n(uint64(len(a)))] }

// batch holds generated corpus rows column by column; both writers and the
// truth read from it.
type batch struct {
	n         int
	ids       []int64
	idStr     string // string ids, concatenated; row i is idStr[idOff[i]:idOff[i+1]]
	idOff     []int32
	author    []int64
	authorOK  []bool
	ctype     []*string
	vis       []*string
	lang      []*string
	created   []int64 // in the file's unit (nanoseconds for int96)
	createdOK []bool
	idBuf     []byte
}

func newBatch(size int) *batch {
	return &batch{
		ids: make([]int64, size), idOff: make([]int32, size+1),
		author: make([]int64, size), authorOK: make([]bool, size),
		ctype: make([]*string, size), vis: make([]*string, size), lang: make([]*string, size),
		created: make([]int64, size), createdOK: make([]bool, size),
	}
}

func (b *batch) idString(i int) string { return b.idStr[b.idOff[i]:b.idOff[i+1]] }

// finish renders the string ids.
func (b *batch) finish() {
	b.idBuf = b.idBuf[:0]
	for i := range b.n {
		b.idOff[i] = int32(len(b.idBuf))
		b.idBuf = strconv.AppendInt(b.idBuf, b.ids[i], 10)
	}
	b.idOff[b.n] = int32(len(b.idBuf))
	b.idStr = string(b.idBuf)
}

// Author references in edge specs.
const (
	authorNull    = -1
	authorForeign = -2
)

// edgeSpec is one planted edge row, with the categories it must get,
// written by hand from the policy (not computed).
type edgeSpec struct {
	name        string
	author      int64 // special account index, authorNull or authorForeign
	ctype, vis  *string
	createdUS   int64
	createdNull bool
	ns          int64 // added nanoseconds (nanos and int96 only)
	want        catSet
	nanosOnly   bool
}

// maxEdges bounds len(edges) for any options.
const maxEdges = 64

// edges lists the planted rows, in the order they start every corpus file.
func (m *model) edges() []edgeSpec {
	s := m.snapUS
	d := int64(usPerDay)
	y := m.snap.Year()
	at := func(yy, mm, dd int) int64 { return time.Date(yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC).UnixMicro() }
	feb29Adult := at(m.feb29Year+18, 3, 1)
	birthdayAdult := at(y-1, 9, 15)
	conflictAdult := at(y-1, 1, 10)
	recent := s - 30*d
	e := func(name string, author int64, ct, vis *string, created int64, want catSet) edgeSpec {
		return edgeSpec{name: name, author: author, ctype: ct, vis: vis, createdUS: created, want: want}
	}
	nullCreated := func(x edgeSpec) edgeSpec { x.createdNull = true; return x }
	list := []edgeSpec{
		e("clean_reference", spAdult, strPost, strPublic, recent, 0),
		e("quirk_POST_spaced_Public", spAdult, strPostUpper, strPublicSpace, recent, 0),
		e("quirk_Photo_PUBLIC", spAdult, strPhotoTitle, strPublicUpper, recent+1, 0),
		e("quirk_spaced_reel_trailing_public", spAdult, strReelSpaces, strPublicTrail, recent+2, 0),
		e("unknown_content_type", spAdult, strLiveAudio, strPublic, recent, cPrivate),
		e("message", spAdult, strMessage, strPublic, recent, cPrivate),
		e("null_visibility", spAdult, strPost, nil, recent, cPrivate),
		e("null_content_type", spAdult, nil, strPublic, recent, cPrivate),
		e("visibility_friends", spAdult, strPost, strFriends, recent, cPrivate),
		e("visibility_empty", spAdult, strPost, strEmpty, recent, cPrivate),
		e("visibility_public_link", spAdult, strPost, strPublicLink, recent, cPrivate),
		e("feb29_at_18th_birthday", spFeb29, strPost, strPublic, feb29Adult, 0),
		e("feb29_1us_before_18th_birthday", spFeb29, strPost, strPublic, feb29Adult-1, cMinor),
		e("feb29_on_28_february", spFeb29, strPost, strPublic, feb29Adult-d, cMinor),
		e("at_18th_birthday", spBirthday, strPost, strPublic, birthdayAdult, 0),
		e("1us_before_18th_birthday", spBirthday, strPost, strPublic, birthdayAdult-1, cMinor),
		e("conflicting_births_youngest_minor", spConflict, strPost, strPublic, at(y-2, 6, 1), cMinor),
		e("conflicting_births_youngest_adult", spConflict, strPost, strPublic, conflictAdult, 0),
		e("null_birth_date_only", spNullOnly, strPost, strPublic, recent, cAgeUnknown),
		e("null_and_real_birth_date", spNullAndDate, strPost, strPublic, recent, 0),
		e("no_ages_row", spNoAges, strPost, strPublic, recent, cAgeUnknown),
		e("author_in_no_table", authorForeign, strPost, strPublic, recent, cAgeUnknown),
		e("minor_post", spMinor, strPost, strPublic, recent, cMinor),
		e("minor_ai_interaction_private", spMinor, strAI, strPrivate, recent, 0),
		e("minor_ai_interaction_quirk_null_visibility", spMinor, strAIQuirk, nil, recent, 0),
		e("minor_message", spMinor, strMessage, strFriends, recent, cMinor|cPrivate),
		e("no_ages_ai_interaction", spNoAges, strAI, strPublic, recent, 0),
		e("null_birth_ai_interaction", spNullOnly, strAI, nil, recent, 0),
		e("objection_effective", spObjEffective, strPost, strPublic, recent, cObjected),
		e("objection_withdrawn_before_snapshot", spObjWithdrawnBefore, strPost, strPublic, recent, 0),
		e("objection_withdrawn_at_snapshot", spObjWithdrawnAt, strPost, strPublic, recent, 0),
		e("objection_withdrawn_after_snapshot", spObjWithdrawnAfter, strPost, strPublic, recent, cObjected),
		e("objection_at_snapshot", spObjAtSnapshot, strPost, strPublic, recent, cObjected),
		e("objection_1us_after_snapshot", spObjAfter, strPost, strPublic, recent, 0),
		e("objection_withdrawn_then_renewed", spObjReobjected, strPost, strPublic, recent, cObjected),
		e("objections_all_ineffective", spObjTwoIneffective, strPost, strPublic, recent, 0),
		e("objection_1us_before_snapshot", spObj1usBefore, strPost, strPublic, recent, cObjected),
		e("linked_objector_itself", spL1, strPost, strPublic, recent, cObjected),
		e("linked_same_centre_minor", spL2, strPost, strPublic, recent, cMinor|cObjected),
		e("linked_bridge_in_two_centres", spL3, strPost, strPublic, recent, cObjected),
		e("linked_chained_centre", spL4, strPost, strPublic, recent, cObjected),
		e("linked_other_component", spL5, strPost, strPublic, recent, 0),
		e("linked_other_component_2", spL6, strPost, strPublic, recent, 0),
		e("linked_objection_withdrawn_at_snapshot", spL8, strPost, strPublic, recent, 0),
		e("linked_single_member_centre", spL9, strPost, strPublic, recent, cObjected),
		e("objected_ai_interaction", spObjEffective, strAI, strPrivate, recent, cObjected),
		e("linked_minor_ai_interaction", spL2, strAI, nil, recent, cObjected),
		e("null_author", authorNull, strPost, strPublic, recent, cUnauditable),
		e("null_author_message", authorNull, strMessage, nil, recent, cPrivate|cUnauditable),
		e("null_author_ai_interaction", authorNull, strAI, strPublic, recent, cUnauditable),
		nullCreated(e("null_created_at", spAdult, strPost, strPublic, 0, cUnauditable)),
		nullCreated(e("null_created_at_no_ages", spNoAges, strPost, strPublic, 0, cAgeUnknown|cUnauditable)),
		nullCreated(e("null_created_at_minor", spMinor, strPost, strPublic, 0, cUnauditable)),
		nullCreated(e("null_created_at_objected", spObjEffective, strPost, strPublic, 0, cObjected|cUnauditable)),
		nullCreated(e("null_author_and_created_at", authorNull, strPost, strPublic, 0, cUnauditable)),
		{name: "1ns_before_18th_birthday", author: spBirthday, ctype: strPost, vis: strPublic, createdUS: birthdayAdult, ns: -1, want: cMinor, nanosOnly: true},
	}
	out := list[:0]
	for _, x := range list {
		if x.nanosOnly && m.unit != unitNanos && m.unit != unitInt96 {
			continue
		}
		out = append(out, x)
	}
	if len(out) > maxEdges {
		panic("lakegen: more edges than maxEdges")
	}
	return out
}

// Edge is one planted edge row: the same row starts every corpus file.
type Edge struct {
	Name string `json:"name"`
	// Want is the categories the row must get (empty: clean), from the
	// policy as written, not computed.
	Want []schema.Category `json:"want"`
	// ContentIDs holds the row's content_id in each corpus file, in file order.
	ContentIDs []string `json:"content_ids"`
}

// fileGen generates the rows of one corpus file.
type fileGen struct {
	m        *model
	k        int
	firstRow int64 // global index of the file's first row
	rows     int64
	edges    []edgeSpec
	r        rng
	// int96Arrow: INT96 written by Arrow (see fill).
	int96Arrow bool
}

func (m *model) contentID(g int64) int64 {
	return contentBase + 3*g + int64(hash2(m.seed, uint64(g)+0x3000)%3)
}

// toUnit converts microseconds (plus ns for nanosecond units) to the unit.
func (m *model) toUnit(us, ns int64) int64 {
	switch m.unit {
	case unitMillis:
		q := us / 1000
		if us%1000 < 0 {
			q--
		}
		return q
	case unitNanos, unitInt96:
		return us*1000 + ns
	default:
		return us
	}
}

// fill generates rows [start, start+n) of the file into b.
func (g *fileGen) fill(b *batch, start int64, n int) {
	b.n = n
	for i := range n {
		j := start + int64(i)
		b.ids[i] = g.m.contentID(g.firstRow + j)
		if j < int64(len(g.edges)) {
			g.edgeRow(b, i, &g.edges[j])
		} else {
			g.randomRow(b, i)
		}
	}
	if g.int96Arrow {
		// arrow/go v17 writes an INT96 whose time lies within about 200 ns
		// before midnight one day late (it derives the Julian day from a
		// float64 hour count). Keep such values a microsecond earlier, so
		// that the file holds what the truth was computed from.
		const nsPerDay = 86400 * 1_000_000_000
		for i := range n {
			if v := b.created[i]; b.createdOK[i] && ((v%nsPerDay)+nsPerDay)%nsPerDay >= nsPerDay-1000 {
				b.created[i] = v - 1000
			}
		}
	}
	if !g.m.opt.ContentIDInt {
		b.finish()
	}
}

func (g *fileGen) edgeRow(b *batch, i int, e *edgeSpec) {
	m := g.m
	switch e.author {
	case authorNull:
		b.author[i], b.authorOK[i] = 0, false
	case authorForeign:
		b.author[i], b.authorOK[i] = m.foreignID(12345), true
	default:
		b.author[i], b.authorOK[i] = m.accountID(e.author), true
	}
	b.ctype[i], b.vis[i] = e.ctype, e.vis
	b.created[i], b.createdOK[i] = 0, !e.createdNull
	if !e.createdNull {
		b.created[i] = m.toUnit(e.createdUS, e.ns)
	}
	b.lang[i] = &langs[0]
}

const pickTries = 200

func (g *fileGen) randomIdx() int64 {
	return nSpecial + int64(g.r.n(uint64(g.m.n-nSpecial)))
}

// cleanAuthor: adult for the whole period, birth known, not objected.
func (g *fileGen) cleanAuthor() int64 {
	for range pickTries {
		idx := g.randomIdx()
		if !g.m.isObjected(idx) && g.m.cleanAdult(idx) {
			return idx
		}
	}
	return spAdult
}

// minorAuthor: a minor for part of the period; returns the index and the
// instant it turns 18.
func (g *fileGen) minorAuthor() (int64, int64) {
	m := g.m
	for range pickTries {
		idx := g.randomIdx()
		if m.isObjected(idx) {
			continue
		}
		b, nb, _ := m.births(idx)
		if nb > 0 && youngest(b, nb) > m.cleanMaxBirth {
			return idx, adultFromUS(youngest(b, nb))
		}
	}
	b, _, _ := m.births(spMinor)
	return spMinor, adultFromUS(b[0])
}

func (g *fileGen) randomRow(b *batch, i int) {
	m, r := g.m, &g.r
	created := m.periodUS + int64(r.n(uint64(m.snapUS-m.periodUS)))
	ns := int64(r.n(1000))
	authorOK, createdOK := true, true
	var author int64
	ct, vis := pick(r, typesClean[:]), strPublic
	if r.float() < m.opt.LeakRate {
		switch q := r.n(100); {
		case q < 30: // private
			author = m.accountID(g.cleanAuthor())
			switch p := r.n(100); {
			case p < 50:
				vis = pick(r, visPrivate[:])
			case p < 65:
				vis = nil
			case p < 85:
				ct = pick(r, typesMessage[:])
			case p < 95:
				ct = pick(r, typesUnknown[:])
			default:
				ct = nil
			}
		case q < 50: // minor
			idx, adult := g.minorAuthor()
			author = m.accountID(idx)
			created = m.periodUS + int64(r.n(uint64(min(adult, m.snapUS)-m.periodUS)))
		case q < 65: // age unknown
			author = m.foreignID(r.next())
			if r.n(5) != 0 {
				idx := int64(spNoAges)
				for range pickTries {
					c := g.randomIdx()
					if _, nb, _ := m.births(c); nb == 0 && !m.isObjected(c) {
						idx = c
						break
					}
				}
				author = m.accountID(idx)
			}
		case q < 90: // objected
			idx := int64(spObjEffective)
			if len(m.objectedList) > 0 {
				for range 3 {
					idx = int64(m.objectedList[r.n(uint64(len(m.objectedList)))])
					if m.cleanAdult(idx) {
						break
					}
				}
			}
			author = m.accountID(idx)
		default: // unauditable
			if r.n(2) == 0 {
				authorOK = false
			} else {
				author = m.accountID(g.cleanAuthor())
				createdOK = false
			}
		}
	} else {
		switch p := r.n(1000); {
		case p < 30: // AI-assistant interaction: any age, any visibility
			idx := g.randomIdx()
			for range pickTries {
				if !m.isObjected(idx) {
					break
				}
				idx = g.randomIdx()
			}
			if m.isObjected(idx) {
				idx = spMinor
			}
			author = m.accountID(idx)
			ct = pick(r, typesAI[:])
			switch r.n(4) {
			case 0:
				vis = nil
			case 1:
				vis = pick(r, visPrivate[:])
			}
		case p < 80: // spelling quirks
			author = m.accountID(g.cleanAuthor())
			if r.n(2) == 0 {
				ct = pick(r, typesQuirk[:])
			}
			vis = pick(r, visQuirk[:])
		default:
			author = m.accountID(g.cleanAuthor())
		}
	}
	b.author[i], b.authorOK[i] = author, authorOK
	if !authorOK {
		b.author[i] = 0
	}
	b.ctype[i], b.vis[i] = ct, vis
	b.created[i], b.createdOK[i] = 0, createdOK
	if createdOK {
		b.created[i] = m.toUnit(created, ns)
	}
	if r.n(50) == 0 {
		b.lang[i] = nil
	} else {
		b.lang[i] = pick(r, langs[:])
	}
}
