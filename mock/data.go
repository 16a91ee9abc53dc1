package mock

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	"github.com/brianvoe/gofakeit/v6"
)

// Booking statuses used by the mock. Only completed bookings can be rated.
const (
	statusCompleted  = "completed"
	statusConfirmed  = "confirmed"
	statusInProgress = "in_progress"
)

// demoIdentity is the owner a request without a token acts for, and
// demoBookingID the completed, unrated booking of the documentation's example.
const (
	demoIdentity  = "demo"
	demoBookingID = 123
	demoOrgNr     = "921460929"
	demoWorkshop  = "Bilservice Bergen AS"
	demoPlate     = "BT57225"
)

// Booking ids are prefix*idBlock + n with n < idBlock. The demo owner has
// prefix 0 (ids 121…), every other owner a prefix in [1, maxPrefix], so ids
// never collide across owners and stay below 2^53: a JavaScript frontend
// reads them without losing precision.
const (
	idBlock   = 1000
	maxPrefix = 9_000_000_000_000
	demoBase  = 120
)

// anchor is the fixed "now" of generated data (the documentation's example
// date), so the same seed gives the same bytes whenever the mock runs.
var anchor = time.Date(2026, time.February, 12, 10, 0, 0, 0, time.UTC)

// ownerKey is how an owner is stored: a hash of the identity, so neither a
// token nor a subject ever lands in the state file or a log.
func ownerKey(identity string) string {
	sum := sha256.Sum256([]byte("minbil-mock-owner\x00" + identity))
	return hex.EncodeToString(sum[:])
}

// derive hashes the mock's seed, an owner key and a purpose into 64 bits.
func derive(seed int64, key, purpose string, attempt int) uint64 {
	h := sha256.New()
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(key))
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	binary.BigEndian.PutUint64(b[:], uint64(attempt))
	h.Write(b[:])
	return binary.BigEndian.Uint64(h.Sum(nil)[:8])
}

// fakerSeed is the gofakeit seed of one owner; never 0, which gofakeit reads
// as "random".
func fakerSeed(seed int64, key string) int64 {
	s := int64(derive(seed, key, "faker", 0) &^ (1 << 63))
	if s == 0 {
		return 1
	}
	return s
}

// candidatePrefix is the attempt-th candidate id prefix of an owner; the
// store probes attempts until it finds one no other owner holds.
func candidatePrefix(seed int64, key string, attempt int) int64 {
	return 1 + int64(derive(seed, key, "prefix", attempt)%maxPrefix)
}

// booking is one booking of an owner, with its rating once rated.
type booking struct {
	ID                 int64     `json:"id"`
	WorkshopOrgNr      string    `json:"workshop_org_nr"`
	WorkshopName       string    `json:"workshop_name"`
	ServiceID          int64     `json:"service_id"`
	ServiceTitle       string    `json:"service_title"`
	RegistrationNumber string    `json:"registration_number"`
	Status             string    `json:"status"`
	Start              time.Time `json:"start"`
	EstimatedEnd       time.Time `json:"estimated_end"`
	// ActualEnd is zero until the booking is completed.
	ActualEnd time.Time `json:"actual_end,omitzero"`
	// Rating is nil until the booking is rated.
	Rating *rating `json:"rating,omitempty"`
}

// rating is a stored rating.
type rating struct {
	Stars   float64   `json:"stars"`
	Message string    `json:"message"`
	Private bool      `json:"private"`
	RatedAt time.Time `json:"rated_at"`
}

type workshop struct{ name, orgNr string }

type service struct {
	id    int64
	title string
	hours int
}

// services is the mock's service catalogue; ids are stable across seeds.
var services = []service{
	{1001, "EU-kontroll", 1},
	{1002, "Årlig service", 3},
	{1003, "Service 30 000 km", 4},
	{1004, "Dekkskift", 1},
	{1005, "Bremseservice", 3},
	{1006, "Oljeskift", 1},
	{1007, "Hjulstilling", 2},
	{1008, "Service av klimaanlegg", 2},
	{1009, "Skift av registerreim", 5},
	{1010, "Feilsøking motorlys", 2},
	{1011, "Bytte av batteri", 1},
	{1012, "Rustbehandling", 6},
}

var places = []string{
	"Bergen", "Trondheim", "Stavanger", "Drammen", "Fredrikstad", "Kristiansand",
	"Tromsø", "Sandnes", "Ålesund", "Bodø", "Hamar", "Lillehammer", "Molde",
	"Gjøvik", "Larvik", "Tønsberg", "Moss", "Haugesund", "Arendal", "Skien",
	"Asker", "Lørenskog", "Sarpsborg", "Halden", "Kongsberg", "Harstad",
}

var surnames = []string{
	"Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen",
	"Kristiansen", "Jensen", "Karlsen", "Johnsen", "Pettersen", "Eriksen",
	"Berg", "Haugen", "Hagen", "Johannessen", "Andreassen", "Jacobsen", "Dahl",
	"Jørgensen", "Halvorsen", "Henriksen", "Lund", "Sørensen", "Moen", "Strand",
}

var firstNames = []string{
	"ola", "kari", "nora", "emma", "jakob", "emil", "noah", "olivia", "sofie",
	"filip", "lukas", "ingrid", "sander", "henrik", "maja", "ella", "aksel",
	"oskar", "sara", "leah", "jonas", "magnus", "tobias", "ida", "thea",
}

var workshopPatterns = []func(place, surname string) string{
	func(p, _ string) string { return p + " Bilverksted AS" },
	func(p, _ string) string { return p + " Auto AS" },
	func(p, _ string) string { return "Bilservice " + p + " AS" },
	func(_, s string) string { return s + " Bil & Dekk AS" },
	func(_, s string) string { return s + "s Bilservice AS" },
	func(p, s string) string { return s + " Motor " + p + " AS" },
}

var ratingMessages = []string{
	"Rask og grundig service.",
	"Veldig fornøyd, anbefales!",
	"Hyggelig betjening, men det tok litt lengre tid enn avtalt.",
	"Grei pris og godt arbeid.",
	"Bilen ble levert vasket, topp!",
	"Fikk god forklaring på hva som var gjort.",
	"Måtte vente en time ekstra uten beskjed.",
	"Alt i orden.",
	"",
}

// Letters used on Norwegian plates (no G, I, M, O, Q or Æ/Ø/Å).
const plateLetters = "ABCDEFHJKLNPRSTUVWXYZ"

// orgNrWeights are the MOD11 weights of the first eight digits of a
// Norwegian organisation number.
var orgNrWeights = [8]int{3, 2, 7, 6, 5, 4, 3, 2}

// orgNrCheckDigit returns the MOD11 check digit of eight digits, or -1 when
// no valid check digit exists (the remainder gives 10).
func orgNrCheckDigit(digits [8]int) int {
	sum := 0
	for i, d := range digits {
		sum += d * orgNrWeights[i]
	}
	r := sum % 11
	switch r {
	case 0:
		return 0
	case 1:
		return -1
	}
	return 11 - r
}

func fakeOrgNr(f *gofakeit.Faker) string {
	for {
		var d [8]int
		d[0] = f.Number(8, 9) // Norwegian organisation numbers start with 8 or 9
		for i := 1; i < 8; i++ {
			d[i] = f.Number(0, 9)
		}
		check := orgNrCheckDigit(d)
		if check < 0 {
			continue
		}
		b := make([]byte, 9)
		for i, v := range d {
			b[i] = byte('0' + v)
		}
		b[8] = byte('0' + check)
		return string(b)
	}
}

func fakePlate(f *gofakeit.Faker) string {
	b := []byte{plateLetters[f.Number(0, len(plateLetters)-1)], plateLetters[f.Number(0, len(plateLetters)-1)]}
	return string(b) + strconv.Itoa(f.Number(10000, 99999))
}

func fakeWorkshop(f *gofakeit.Faker) workshop {
	pattern := workshopPatterns[f.Number(0, len(workshopPatterns)-1)]
	return workshop{
		name:  pattern(f.RandomString(places), f.RandomString(surnames)),
		orgNr: fakeOrgNr(f),
	}
}

type bookingKind int

const (
	kindRated bookingKind = iota
	kindUnrated
	kindPending
)

// generateOwner builds an owner's bookings deterministically from the
// mock's seed and the owner's key: the same inputs give the same bookings on
// every machine. Every owner has rated, completed-unrated and not-completed
// bookings; the demo owner's booking 123 is completed and unrated.
func generateOwner(seed int64, key string, demo bool, prefix int64) *owner {
	f := gofakeit.NewUnlocked(fakerSeed(seed, key))

	kinds := make([]bookingKind, 0, 10)
	for range f.Number(2, 4) {
		kinds = append(kinds, kindRated)
	}
	for range f.Number(2, 3) {
		kinds = append(kinds, kindUnrated)
	}
	for range f.Number(1, 2) {
		kinds = append(kinds, kindPending)
	}
	f.ShuffleAnySlice(kinds)

	workshops, plates := fakeGarage(f)

	base := prefix * idBlock
	if demo {
		base = demoBase
		workshops[0] = workshop{name: demoWorkshop, orgNr: demoOrgNr}
		plates[0] = demoPlate
		// Booking 123 is the third: make it completed and unrated.
		const at = demoBookingID - demoBase - 1
		for i, k := range kinds {
			if k == kindUnrated {
				kinds[i], kinds[at] = kinds[at], kinds[i]
				break
			}
		}
	}

	o := &owner{Key: key, Demo: demo, Prefix: prefix}
	for i, kind := range kinds {
		id := base + int64(i) + 1
		b := fakeBooking(f, kind, id, workshops, plates)
		if demo && id == demoBookingID {
			b.WorkshopName, b.WorkshopOrgNr, b.RegistrationNumber = demoWorkshop, demoOrgNr, demoPlate
		}
		o.Bookings = append(o.Bookings, b)
	}
	return o
}

func fakeBooking(f *gofakeit.Faker, kind bookingKind, id int64, workshops []workshop, plates []string) *booking {
	w := workshops[f.Number(0, len(workshops)-1)]
	svc := services[f.Number(0, len(services)-1)]
	b := &booking{
		ID:                 id,
		WorkshopOrgNr:      w.orgNr,
		WorkshopName:       w.name,
		ServiceID:          svc.id,
		ServiceTitle:       svc.title,
		RegistrationNumber: plates[f.Number(0, len(plates)-1)],
	}
	day := time.Duration(24) * time.Hour
	estimate := time.Duration(svc.hours) * time.Hour
	if kind == kindPending {
		// Future bookings, or one that has started and is not finished yet.
		if f.Number(0, 3) == 0 {
			b.Status = statusInProgress
			b.Start = anchor.Add(-time.Hour)
		} else {
			b.Status = statusConfirmed
			b.Start = anchor.Add(time.Duration(f.Number(1, 60)) * day).Truncate(day).Add(time.Duration(f.Number(14, 30)) * 30 * time.Minute)
		}
		b.EstimatedEnd = b.Start.Add(estimate)
		return b
	}
	b.Status = statusCompleted
	// Workshop hours: from 07:00 to 15:00, on the hour or the half hour.
	b.Start = anchor.Add(-time.Duration(f.Number(2, 180)) * day).Truncate(day).Add(time.Duration(f.Number(14, 30)) * 30 * time.Minute)
	b.EstimatedEnd = b.Start.Add(estimate)
	// Finished between 30 minutes early and 90 minutes late, but never
	// before half an hour of work.
	b.ActualEnd = b.EstimatedEnd.Add(time.Duration(f.Number(-2, 6)) * 15 * time.Minute)
	if minEnd := b.Start.Add(30 * time.Minute); b.ActualEnd.Before(minEnd) {
		b.ActualEnd = minEnd
	}
	if kind == kindRated {
		stars := []int{3, 4, 4, 5, 5, 5, 2, 1}
		b.Rating = &rating{
			Stars:   float64(stars[f.Number(0, len(stars)-1)]),
			Message: f.RandomString(ratingMessages),
			Private: f.Bool(),
			RatedAt: b.ActualEnd.Add(time.Duration(f.Number(120, 7*24*60)) * time.Minute).Add(time.Duration(f.Number(0, 59)) * time.Second),
		}
	}
	return b
}

// takenUsernames is the deterministic set of taken usernames (lower-cased):
// a few names everybody tries, the contract's example, and names derived
// from the seed.
func takenUsernames(seed int64) map[string]struct{} {
	taken := map[string]struct{}{}
	for _, n := range []string{"admin", "administrator", "root", "support", "minbil", "test", "demo", "ola.nordmann", "kari.nordmann", "ola", "kari"} {
		taken[n] = struct{}{}
	}
	f := gofakeit.NewUnlocked(fakerSeed(seed, "taken-usernames"))
	for range 60 {
		first := f.RandomString(firstNames)
		last := toLowerASCII(f.RandomString(surnames))
		var name string
		switch f.Number(0, 3) {
		case 0:
			name = first + "." + last
		case 1:
			name = first + "_" + last
		case 2:
			name = first + strconv.Itoa(f.Number(1, 99))
		default:
			name = first + "-" + last + strconv.Itoa(f.Number(70, 99))
		}
		taken[name] = struct{}{}
	}
	return taken
}

// toLowerASCII lower-cases and folds the Norwegian letters so generated
// usernames keep the documented character rules.
func toLowerASCII(s string) string {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			out = append(out, byte(r-'A'+'a'))
		case r == 'ø' || r == 'Ø':
			out = append(out, 'o')
		case r == 'å' || r == 'Å':
			out = append(out, 'a')
		case r == 'æ' || r == 'Æ':
			out = append(out, 'a', 'e')
		case r < 128:
			out = append(out, byte(r))
		}
	}
	return string(out)
}

// fakeGarage draws the workshops (2–4) an owner uses and the cars (1–2,
// by plate) they own.
func fakeGarage(f *gofakeit.Faker) ([]workshop, []string) {
	workshops := make([]workshop, f.Number(2, 4))
	for i := range workshops {
		workshops[i] = fakeWorkshop(f)
	}
	plates := make([]string, f.Number(1, 2))
	for i := range plates {
		plates[i] = fakePlate(f)
	}
	return workshops, plates
}
