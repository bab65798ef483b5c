package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

// The demo provisions its samples through SCIM and every target ends up
// holding them: 6 users (one deactivated), the groups with their members.
func TestDemo(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	if err := runDemo(ctx, "127.0.0.1:0", false, &out, cancel); err != nil {
		t.Fatal(err)
	}
	for _, row := range []string{
		`webex\s+6\s+5\s+Engineering \(4\), Sales EMEA \(1\)\s+\d+\s+0`,
		`scc\s+6\s+5\s+Engineering \(4\), Sales EMEA \(1\)\s+\d+\s+0`,
		// SecureAuth keeps the old group after a rename, unless the rename
		// was coalesced with the create (delivery timing decides); a
		// deactivation coalesced with the create makes the account with a
		// random password, which its simulator shows as active (6).
		`secureauth\s+6\s+[56]\s+Engineering \(4\), (Sales \(1\), )?Sales EMEA \(1\)\s+\d+\s+0`,
		`secureaccess\s+6\s+5\s+-\s+\d+\s+0`,
	} {
		if !regexp.MustCompile(row).MatchString(out.String()) {
			t.Errorf("demo output has no row matching %s:\n%s", row, out.String())
		}
	}
}
