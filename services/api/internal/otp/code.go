package otp

import (
	"crypto/rand"
	"encoding/binary"
	"strconv"

	"github.com/ciam-mfa/ciam-mfa/services/api/internal/keyedhash"
)

// NewCode returns a code of the given number of digits (1 to 18), each
// uniformly drawn from crypto/rand.
func NewCode(digits int) string {
	var limit uint64 = 1
	for range digits {
		limit *= 10
	}
	// Reject the top of the range so that every code is equally likely.
	ceiling := ^uint64(0) - ^uint64(0)%limit
	var buf [8]byte
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		if v := binary.LittleEndian.Uint64(buf[:]); v < ceiling {
			return pad(strconv.FormatUint(v%limit, 10), digits)
		}
	}
}

func pad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// codeHash binds a code to its challenge and generation.
func codeHash(h *keyedhash.Hasher, authID string, generation int, code string) (string, []byte) {
	return h.Sum("otp", authID, strconv.Itoa(generation), code)
}

func verifyCode(h *keyedhash.Hasher, keyID string, sum []byte, authID string, generation int, code string) bool {
	return h.Verify(keyID, sum, "otp", authID, strconv.Itoa(generation), code)
}
