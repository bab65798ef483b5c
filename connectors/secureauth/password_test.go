package secureauth

import (
	"strings"
	"testing"
	"unicode"
)

// complex is the contract's rule, written apart from newPassword.
func complex(pw, userID string) bool {
	if len(pw) < 8 || len(pw) > 128 || (userID != "" && strings.Contains(strings.ToLower(pw), strings.ToLower(userID))) {
		return false
	}
	classes := map[string]bool{}
	for _, r := range pw {
		switch {
		case unicode.IsUpper(r):
			classes["upper"] = true
		case unicode.IsLower(r):
			classes["lower"] = true
		case unicode.IsDigit(r):
			classes["digit"] = true
		default:
			classes["symbol"] = true
		}
	}
	return len(classes) >= 3
}

func TestNewPassword(t *testing.T) {
	seen := map[string]bool{}
	for _, id := range []string{"jdoe", "a", "A", "ab", "!", "9", "jdoe@example.com", "", "Ünïcode"} {
		for range 50 {
			pw := newPassword(id)
			if !complex(pw, id) {
				t.Fatalf("newPassword(%q) = %q breaks the rule", id, pw)
			}
			seen[pw] = true
		}
	}
	if len(seen) < 449 {
		t.Errorf("only %d distinct passwords of 450", len(seen))
	}
}

func FuzzNewPassword(f *testing.F) {
	for _, s := range []string{"jdoe", "x", "Zz", "#1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if pw := newPassword(id); !complex(pw, id) && len(id) <= 24 {
			t.Errorf("newPassword(%q) = %q breaks the rule", id, pw)
		}
	})
}
