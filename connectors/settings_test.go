package connectors_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/connectors"
)

type testCreds struct {
	Token string `setting:"token"`
}

type testOpts struct {
	Name    string         `setting:"name"`
	On      bool           `setting:"on"`
	Maybe   *bool          `setting:"maybe"`
	Count   int            `setting:"count"`
	Scale   *float64       `setting:"scale"`
	Wait    time.Duration  `setting:"wait"`
	Limit   *time.Duration `setting:"limit"`
	Ignored string         // no tag: not a setting
}

func TestDecodeSettings(t *testing.T) {
	tests := []struct {
		name  string
		creds map[string]string
		opts  map[string]string
		want  testOpts
		errs  []string // the joined errors, in order
	}{
		{name: "empty"},
		{
			name: "every type",
			opts: map[string]string{"name": " n ", "on": "true", "maybe": "false", "count": "7", "scale": "0.5", "wait": "2s", "limit": "1m"},
			want: testOpts{Name: "n", On: true, Maybe: new(false), Count: 7, Scale: new(0.5), Wait: 2 * time.Second, Limit: new(time.Minute)},
		},
		{
			name: "empty value leaves the field unset", // ${ENV:-} expands to ""
			opts: map[string]string{"maybe": "", "count": "  "},
		},
		{
			name:  "misspelled keys, with the closest known",
			creds: map[string]string{"tokn": "x"},
			opts:  map[string]string{"cuont": "3", "nmae": "n", "zzzzzzzz": "1"},
			errs: []string{
				`credentials.tokn: unknown key (did you mean "token"?) (known: token)`,
				`options.cuont: unknown key (did you mean "count"?) (known: count, limit, maybe, name, on, scale, wait)`,
				`options.nmae: unknown key (did you mean "name"?) (known: count, limit, maybe, name, on, scale, wait)`,
				`options.zzzzzzzz: unknown key (known: count, limit, maybe, name, on, scale, wait)`,
			},
		},
		{
			name: "untagged field is not a key",
			opts: map[string]string{"Ignored": "x"},
			errs: []string{`options.Ignored: unknown key (known: count, limit, maybe, name, on, scale, wait)`},
		},
		{
			name: "wrong value types name the key",
			opts: map[string]string{"on": "yes", "maybe": "perhaps", "count": "abc", "scale": "big", "wait": "10", "limit": "soon"},
			errs: []string{
				`options.count: "abc" is not an integer`,
				`options.limit: "soon" is not a duration (such as 30s or 2m)`,
				`options.maybe: "perhaps" is not true or false`,
				`options.on: "yes" is not true or false`,
				`options.scale: "big" is not a number`,
				`options.wait: "10" is not a duration (such as 30s or 2m)`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c testCreds
			var o testOpts
			err := connectors.DecodeSettings(connectors.Settings{Credentials: tt.creds, Options: tt.opts}, &c, &o)
			var got []string
			for _, e := range unjoin(err) {
				var se *connectors.SettingError
				if !errors.As(e, &se) {
					t.Errorf("%v is not a *SettingError", e)
				}
				got = append(got, e.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.errs, "\n") {
				t.Fatalf("errors\n got %q\nwant %q", got, tt.errs)
			}
			if err == nil && !reflect.DeepEqual(o, tt.want) {
				t.Errorf("decoded %+v, want %+v", o, tt.want)
			}
		})
	}
}

func TestDecodeSettingsSectionTakesNone(t *testing.T) {
	type none struct{}
	err := connectors.DecodeSettings(connectors.Settings{Options: map[string]string{"page_size": "1"}}, nil, &none{})
	if want := "options.page_size: unknown key (this connector takes none)"; err == nil || err.Error() != want {
		t.Errorf("err %v, want %q", err, want)
	}
	err = connectors.DecodeSettings(connectors.Settings{Credentials: map[string]string{"token": "x"}}, nil, nil)
	if want := "credentials.token: unknown key (this connector takes none)"; err == nil || err.Error() != want {
		t.Errorf("err %v, want %q", err, want)
	}
}

// A credential that fails to parse never shows its value.
func TestDecodeSettingsHidesCredentialValues(t *testing.T) {
	type creds struct {
		Port int `setting:"port"`
	}
	err := connectors.DecodeSettings(connectors.Settings{Credentials: map[string]string{"port": "S3CR3T"}}, &creds{}, nil)
	if err == nil || strings.Contains(err.Error(), "S3CR3T") || !strings.Contains(err.Error(), "credentials.port") {
		t.Errorf("err %v: want credentials.port named, its value hidden", err)
	}
}

func TestCheckSettings(t *testing.T) {
	r := connectors.Registration{Type: "t", Credentials: testCreds{}, Options: testOpts{}}
	s := connectors.Settings{Name: "mine", Options: map[string]string{"wiat": "1s", "count": "x"}}
	got := connectors.CheckSettings(r, s)
	want := "connector \"mine\": options.count: \"x\" is not an integer\n" +
		"connector \"mine\": options.wiat: unknown key (did you mean \"wait\"?) (known: count, limit, maybe, name, on, scale, wait)"
	if got == nil || got.Error() != want {
		t.Errorf("got %v\nwant %s", got, want)
	}
	if len(unjoin(got)) != 2 {
		t.Errorf("want one error per problem, got %d", len(unjoin(got)))
	}
	// A registration without typed settings is not checked.
	if err := connectors.CheckSettings(connectors.Registration{Type: "t"}, s); err != nil {
		t.Errorf("unchecked registration: %v", err)
	}
}

func TestSettingsWithDefaults(t *testing.T) {
	got := connectors.Settings{}.WithDefaults()
	if got.Concurrency != connectors.DefaultConcurrency || got.SyncTimeout != connectors.DefaultSyncTimeout {
		t.Errorf("zero settings: %d %s", got.Concurrency, got.SyncTimeout)
	}
	set := connectors.Settings{Concurrency: 2, SyncTimeout: time.Second}.WithDefaults()
	if set.Concurrency != 2 || set.SyncTimeout != time.Second {
		t.Errorf("set values changed: %d %s", set.Concurrency, set.SyncTimeout)
	}
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
