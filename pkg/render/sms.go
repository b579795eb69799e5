package render

// Encoding is how an SMS body is carried over the air.
type Encoding int

// The SMS encodings.
const (
	// GSM7 is the GSM 03.38 default alphabet: 160 characters in one
	// segment, 153 per segment when split.
	GSM7 Encoding = iota + 1
	// UCS2 is used as soon as one character is outside GSM 03.38: 70 UTF-16
	// units in one segment, 67 per segment when split.
	UCS2
)

// String returns "GSM-7" or "UCS-2".
func (e Encoding) String() string {
	switch e {
	case GSM7:
		return "GSM-7"
	case UCS2:
		return "UCS-2"
	default:
		return "unknown"
	}
}

// gsmBasic is the GSM 03.38 basic character set; each takes one septet.
const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsmExtension characters take two septets (an escape and the character).
const gsmExtension = "^{}\\[~]|€\f"

var gsmCost = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// SMSInfo describes how a body will be sent.
type SMSInfo struct {
	Encoding Encoding `json:"-"`
	// Units is the length in septets (GSM-7) or UTF-16 code units (UCS-2).
	Units    int `json:"units"`
	Segments int `json:"segments"`
}

// Segments reports the encoding of body and how many segments it takes.
// An extension character is never split across GSM-7 segments, nor a
// surrogate pair across UCS-2 ones, so the count is the one a carrier sees.
func Segments(body string) SMSInfo {
	if info, ok := gsmSegments(body); ok {
		return info
	}
	return ucs2Segments(body)
}

func gsmSegments(body string) (SMSInfo, bool) {
	costs := make([]int, 0, len(body))
	total := 0
	for _, r := range body {
		c, ok := gsmCost[r]
		if !ok {
			return SMSInfo{}, false
		}
		costs = append(costs, c)
		total += c
	}

	return SMSInfo{Encoding: GSM7, Units: total, Segments: count(costs, total, 160, 153)}, true
}

func ucs2Segments(body string) SMSInfo {
	costs := make([]int, 0, len(body))
	total := 0
	for _, r := range body {
		c := 1
		if r > 0xFFFF {
			c = 2
		}
		costs = append(costs, c)
		total += c
	}

	return SMSInfo{Encoding: UCS2, Units: total, Segments: count(costs, total, 70, 67)}
}

// count packs characters of the given unit costs into segments of per
// units, unless the whole fits in single.
func count(costs []int, total, single, per int) int {
	if total == 0 {
		return 0
	}
	if total <= single {
		return 1
	}
	segments, used := 1, 0
	for _, c := range costs {
		if used+c > per {
			segments++
			used = 0
		}

		used += c
	}

	return segments
}
