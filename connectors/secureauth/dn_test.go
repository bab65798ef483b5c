package secureauth

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCommonName(t *testing.T) {
	tests := []struct{ dn, want string }{
		{"CN=SharePoint Developers,OU=jdoe,DC=dev,DC=local", "SharePoint Developers"},
		{`CN=Sales\, EMEA,OU=Groups,DC=x`, "Sales, EMEA"},
		{`cn=a\\b,dc=x`, `a\b`},
		{"Admins", "Admins"},
		{"CN=", ""},
	}
	for _, tc := range tests {
		if got := commonName(tc.dn); got != tc.want {
			t.Errorf("commonName(%q) = %q, want %q", tc.dn, got, tc.want)
		}
	}
}

// FuzzCommonName: a name escaped into a DN comes back unchanged.
func FuzzCommonName(f *testing.F) {
	for _, s := range []string{"Admins", "Sales, EMEA", `a\b`, "#x", " lead", "=+<>;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if !utf8.ValidString(name) {
			t.Skip("group names arrive as JSON strings")
		}
		var b strings.Builder
		for _, r := range name {
			if strings.ContainsRune(`,+"\<>;=#`, r) {
				b.WriteByte('\\')
			}
			b.WriteRune(r)
		}
		dn := "CN=" + b.String() + ",OU=Groups,DC=sim"
		if got := commonName(dn); got != name {
			t.Errorf("commonName(%q) = %q, want %q", dn, got, name)
		}
	})
}
