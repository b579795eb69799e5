// Package destination reads the email addresses and phone numbers that
// applications send codes to, and derives two forms of each:
//
//   - the address to send to: exactly what the application gave, but for an
//     email's domain, which is lowercased and IDNA-encoded;
//   - the key that limits and failure budgets count against: for email the
//     local part is also ASCII-lowercased and a "+tag" dropped; for phones
//     it is the E.164 form.
//
// Keys never fold non-ASCII characters to ASCII, so a look-alike address
// can never share a bucket with, or be mistaken for, the ASCII one.
package destination

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
	"golang.org/x/net/idna"
	"golang.org/x/text/unicode/norm"
)

// Errors returned by this package. Their messages are safe to show to the
// application; they never quote the input.
var (
	// ErrInvalidEmail is returned for anything but a bare, valid address.
	ErrInvalidEmail = errors.New("email is not a valid address")
	// ErrInvalidPhone is returned for a number that cannot be read as a
	// valid number.
	ErrInvalidPhone = errors.New("phoneNumber is not a valid number")
	// ErrPhoneType is returned for a valid number that cannot take SMS.
	ErrPhoneType = errors.New("phoneNumber cannot receive SMS")
	// ErrCountry is returned for a number outside the client's allowed
	// countries.
	ErrCountry = errors.New("phoneNumber is in a country this client may not send to")
)

// Limits on lengths, in bytes.
const (
	MaxEmailLen = 254
	maxLocalLen = 64
	maxPhoneLen = 32
)

// Email is a parsed address.
type Email struct {
	// Address is what the message is sent to.
	Address string
	// Key is the canonical form limits count against.
	Key string
	// Domain is the ASCII domain.
	Domain string
}

// EmailOptions tunes ParseEmail.
type EmailOptions struct {
	// AllowUnicodeLocal accepts non-ASCII letters and digits in the local
	// part (RFC 6531); off by default.
	AllowUnicodeLocal bool
}

// ParseEmail reads a bare address: no display name, comment, quoted local
// part or surrounding brackets. Surrounding white space is ignored. It
// fails with ErrInvalidEmail.
func ParseEmail(s string, o EmailOptions) (Email, error) {
	s = strings.TrimSpace(s)
	if len(s) == 0 || len(s) > MaxEmailLen || !utf8.ValidString(s) {
		return Email{}, ErrInvalidEmail
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return Email{}, ErrInvalidEmail
	}
	local, domain := s[:at], s[at+1:]
	if !validLocal(local, o.AllowUnicodeLocal) {
		return Email{}, ErrInvalidEmail
	}
	ascii, err := asciiDomain(domain)
	if err != nil {
		return Email{}, ErrInvalidEmail
	}
	addr := local + "@" + ascii
	if len(addr) > MaxEmailLen {
		return Email{}, ErrInvalidEmail
	}
	return Email{Address: addr, Key: emailKey(local) + "@" + ascii, Domain: ascii}, nil
}

// atext are the ASCII characters RFC 5322 allows in a dot-atom, besides
// letters and digits.
const atext = "!#$%&'*+/=?^_`{|}~-"

func validLocal(local string, unicodeOK bool) bool {
	if len(local) > maxLocalLen || local[0] == '.' || local[len(local)-1] == '.' ||
		strings.Contains(local, "..") {
		return false
	}
	for _, r := range local {
		switch {
		case r < utf8.RuneSelf && (isAlnum(byte(r)) || r == '.' || strings.ContainsRune(atext, r)):
		case r >= utf8.RuneSelf && unicodeOK && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
		default:
			return false
		}
	}

	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

var idnaProfile = idna.New(idna.MapForLookup(), idna.BidiRule(), idna.StrictDomainName(true),
	idna.Transitional(false), idna.VerifyDNSLength(true))

func asciiDomain(domain string) (string, error) {
	if strings.HasPrefix(domain, "[") || strings.HasSuffix(domain, ".") {
		return "", ErrInvalidEmail // address literals and root dots are refused
	}
	ascii, err := idnaProfile.ToASCII(domain)
	if err != nil {
		return "", err
	}
	ascii = strings.ToLower(ascii)
	dot := strings.LastIndexByte(ascii, '.')
	if dot < 0 || !validTLD(ascii[dot+1:]) {
		return "", ErrInvalidEmail
	}
	return ascii, nil
}

func asciiCount(s string) int {
	n := 0
	for _, r := range s {
		if r < utf8.RuneSelf {
			n++
		}
	}
	return n
}

// validTLD refuses top-level labels no mail domain has: one letter, or
// all digits (a dotted IP address).
func validTLD(tld string) bool {
	if len(tld) < 2 {
		return false
	}
	for i := 0; i < len(tld); i++ {
		if tld[i] < '0' || tld[i] > '9' {
			return true
		}
	}
	return false
}

// emailKey lowercases ASCII letters only, drops a "+tag", and puts a
// non-ASCII local part in Unicode normal form C, so that one mailbox
// written with composed or decomposed accents counts once. A form C that
// would turn a character into ASCII (the Kelvin sign into K) is not used:
// a look-alike must never share the ASCII address's bucket.
func emailKey(local string) string {
	if i := strings.IndexByte(local, '+'); i > 0 {
		local = local[:i]
	}
	if nfc := norm.NFC.String(local); asciiCount(nfc) <= asciiCount(local) {
		local = nfc
	}
	b := []byte(local)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}

	return string(b)
}

// nonGeographic is libphonenumber's region of numbers that belong to no
// country.
const nonGeographic = "001"

// KnownRegion reports whether r is a region numbers can belong to: an ISO
// 3166 code with a calling code, such as "US", or "001" for the numbers of
// no country when nonGeographic is set.
func KnownRegion(r string, nonGeo bool) bool {
	if r == nonGeographic {
		return nonGeo
	}
	return len(r) == 2 && phonenumbers.GetSupportedRegions()[strings.ToUpper(r)]
}

// Phone is a parsed number.
type Phone struct {
	// E164 is the number sent to, and the limit key.
	E164 string
	// Region is the number's ISO 3166 region, such as "US".
	Region string
	// CountryCode is the calling code, such as 1.
	CountryCode int
}

// PhoneOptions tunes ParsePhone.
type PhoneOptions struct {
	// DefaultRegion allows national format numbers of that region.
	DefaultRegion string
	// AllowedRegions, when not empty, lists the only regions allowed.
	AllowedRegions []string
}

// ParsePhone reads a number in E.164 or international format with spaces
// and dashes, or in national format when a default region is set. It fails
// with ErrInvalidPhone, ErrPhoneType or ErrCountry.
func ParsePhone(s string, o PhoneOptions) (Phone, error) {
	s = strings.TrimSpace(s)
	if len(s) < 3 || len(s) > maxPhoneLen || !phoneChars(s) {
		return Phone{}, ErrInvalidPhone
	}
	region := "ZZ"
	if !strings.HasPrefix(s, "+") {
		if o.DefaultRegion == "" {
			return Phone{}, fmt.Errorf("%w: use international format (+country code)", ErrInvalidPhone)
		}
		region = strings.ToUpper(o.DefaultRegion)
	}

	num, err := phonenumbers.Parse(s, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return Phone{}, ErrInvalidPhone
	}
	if !smsCapable(phonenumbers.GetNumberType(num)) {
		return Phone{}, ErrPhoneType
	}
	p := Phone{
		E164:        phonenumbers.Format(num, phonenumbers.E164),
		Region:      phonenumbers.GetRegionCodeForNumber(num),
		CountryCode: int(num.GetCountryCode()),
	}

	if len(o.AllowedRegions) > 0 && !containsFold(o.AllowedRegions, p.Region) {
		return Phone{}, ErrCountry
	}
	// Non-geographic numbers (satellite, international networks) are a
	// favourite of SMS pumping; only a client that lists "001" gets them.
	if p.Region == nonGeographic && !containsFold(o.AllowedRegions, nonGeographic) {
		return Phone{}, ErrCountry
	}
	return p, nil
}

// phoneChars accepts digits, spaces and dashes, with an optional leading
// "+"; a dash or space may not start or repeat.
func phoneChars(s string) bool {
	if s[0] == '+' {
		s = s[1:]
	}
	prevSep := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			prevSep = false
		case (c == ' ' || c == '-') && !prevSep:
			prevSep = true
		default:
			return false
		}
	}

	return !prevSep
}

func smsCapable(t phonenumbers.PhoneNumberType) bool {
	switch t {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE,
		phonenumbers.PERSONAL_NUMBER, phonenumbers.VOIP:
		return true
	default:
		return false
	}
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}

	return false
}
