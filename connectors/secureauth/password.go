package secureauth

import (
	"crypto/rand"
	"math/big"
	"strings"
	"unicode"
)

// Character classes of Active Directory's complexity rule. The symbols
// avoid quotes and backslashes, which some directory tools mishandle.
const (
	upperChars  = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	lowerChars  = "abcdefghijkmnopqrstuvwxyz"
	digitChars  = "23456789"
	symbolChars = "!#$%&()*+,-./:;<=>?@[]^_{|}~"
	passwordLen = 24
)

// newPassword returns a random password that meets the contract's rule
// (Active Directory complexity): 8-128 characters, all four classes, and
// not containing userID. It is for create and scramble only: it is sent
// once and never logged or stored.
func newPassword(userID string) string {
	uid := strings.ToLower(userID)
	// A one- or two-character userId would be contained in almost any
	// password: leave its characters out.
	exclude := func(set string) string {
		if len(uid) > 2 {
			return set
		}
		return strings.Map(func(r rune) rune {
			if strings.ContainsRune(uid, unicode.ToLower(r)) {
				return -1
			}
			return r
		}, set)
	}
	classes := []string{exclude(upperChars), exclude(lowerChars), exclude(digitChars), exclude(symbolChars)}
	all := strings.Join(classes, "")
	for {
		b := make([]byte, 0, passwordLen)
		for _, c := range classes {
			b = append(b, c[randInt(len(c))])
		}
		for len(b) < passwordLen {
			b = append(b, all[randInt(len(all))])
		}
		for i := len(b) - 1; i > 0; i-- { // Fisher-Yates: class order must not be guessable
			j := randInt(i + 1)
			b[i], b[j] = b[j], b[i]
		}
		if pw := string(b); uid == "" || !strings.Contains(strings.ToLower(pw), uid) {
			return pw
		}
	}
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic("secureauth: crypto/rand failed: " + err.Error())
	}
	return int(v.Int64())
}
