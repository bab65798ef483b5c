package config

import (
	"strings"
	"testing"
	"time"
)

func TestActivitySection(t *testing.T) {
	noEnv := func(string) (string, bool) { return "", false }
	c, err := Parse([]byte("tokens: [t]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Activity.On() || c.Activity.WithDefaults().Retention != 30*24*time.Hour || c.Activity.WithDefaults().MaxEvents != 1_000_000 ||
		c.Activity.WithDefaults().DeletedValuesRetention != 7*24*time.Hour {
		t.Errorf("defaults: %+v", c.Activity.WithDefaults())
	}
	c, err = Parse([]byte("tokens: [t]\nactivity: {enabled: false, retention: 48h, max_events: 10, deleted_values_retention: 1h, redact: [nickName]}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if a := c.Activity; a.On() || a.Retention != 48*time.Hour || a.MaxEvents != 10 || a.DeletedValuesRetention != time.Hour || len(a.Redact) != 1 {
		t.Errorf("parsed: %+v", a)
	}
	for _, bad := range []string{"activity: {max_events: -1}", "activity: {retention: -1h}", `activity: {redact: [" "]}`, "activity: {nope: 1}"} {
		if _, err := Parse([]byte("tokens: [t]\n"+bad+"\n"), noEnv); err == nil || !strings.Contains(err.Error(), "activity") && !strings.Contains(err.Error(), "nope") {
			t.Errorf("%s: %v", bad, err)
		}
	}
}
