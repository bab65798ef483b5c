package activitylog

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

// TestPlainSameMatchesSlow: wherever plainSame is sure, it agrees with
// sameSlow (reflect.DeepEqual, else equal encodings), and same always
// agrees with sameSlow.
func TestPlainSameMatchesSlow(t *testing.T) {
	type m = map[string]any
	type l = []any
	cases := []struct {
		a, b     any
		wantSure bool
	}{
		{"x", "x", true}, {"x", "y", true}, {"\xff", "\xfe", false}, {"\xff", "\xff", true},
		{1.0, 1.0, true}, {1.0, 2.0, true}, {0.0, math.Copysign(0, -1), true}, {math.NaN(), math.NaN(), true},
		{math.Inf(1), math.Inf(1), true},
		{true, true, true}, {true, false, true}, {nil, nil, true},
		{nil, m(nil), false}, {m(nil), m(nil), false}, {l(nil), l{}, false}, {m{}, m{}, true},
		{"1", 1.0, true}, {1.0, json.Number("1"), false}, {json.Number("1"), json.Number("1"), false},
		{1.0, int64(1), false}, {m{"a": 1.0}, m{"a": int64(1)}, false}, {m{"a": 1.0}, m{"a": 2.0, "b": int64(1)}, true},
		{m{"a": "x"}, m{"a": "x"}, true}, {m{"a": "x"}, m{"b": "x"}, true}, {m{"\xff": "x"}, m{"\xfe": "x"}, false},
		{m{"a": "x", "b": 1.0}, m{"a": "x"}, true}, {m{"a": m{"b": l{1.0, "z"}}}, m{"a": m{"b": l{1.0, "z"}}}, true},
		{l{1.0, "z"}, l{1.0, "y"}, true}, {l{1.0}, l{1.0, 2.0}, true}, {l{json.Number("1"), "a"}, l{1.0, "b"}, true},
		{l{json.Number("1"), "a"}, l{1.0, "a"}, false}, {l{m{"type": "work", "value": "a@x"}}, l{m{"type": "work", "value": "b@x"}}, true},
		{"x", nil, true}, {m{}, l{}, true}, {true, "true", true}, {struct{}{}, struct{}{}, false},
	}
	for i, c := range cases {
		eq, sure := plainSame(c.a, c.b)
		want := sameSlow(c.a, c.b)
		if sure != c.wantSure {
			t.Errorf("case %d (%#v, %#v): sure %v, want %v", i, c.a, c.b, sure, c.wantSure)
		}
		if sure && eq != want {
			t.Errorf("case %d (%#v, %#v): plainSame %v, sameSlow %v", i, c.a, c.b, eq, want)
		}
		if got := same(c.a, c.b); got != want {
			t.Errorf("case %d: same %v, sameSlow %v", i, got, want)
		}
	}
	// Random documents and mutations of them.
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		a := randValue(r, 3)
		b := a
		if r.IntN(3) > 0 {
			b = mutate(r, a, 3)
		}
		eq, sure := plainSame(a, b)
		want := sameSlow(a, b)
		if sure && eq != want {
			t.Fatalf("random %d (%#v, %#v): plainSame %v, sameSlow %v", i, a, b, eq, want)
		}
		if got := same(a, b); got != want {
			t.Fatalf("random %d: same %v, sameSlow %v", i, got, want)
		}
	}
}

var randStrings = []string{"", "a", "b", "work", "\xff", "\xfe", "é", "a@example.com"}

func randValue(r *rand.Rand, depth int) any {
	n := 9
	if depth == 0 {
		n = 7
	}
	switch r.IntN(n) {
	case 0:
		return nil
	case 1:
		return r.IntN(2) == 0
	case 2:
		return float64(r.IntN(3))
	case 3:
		return randStrings[r.IntN(len(randStrings))]
	case 4:
		return json.Number([]string{"1", "1.0", "2"}[r.IntN(3)])
	case 5:
		return int64(r.IntN(3))
	case 6:
		return []any{map[string]any(nil), []any(nil), []any{}}[r.IntN(3)]
	case 7:
		out := map[string]any{}
		for range r.IntN(4) {
			out[randStrings[r.IntN(len(randStrings))]] = randValue(r, depth-1)
		}
		return out
	default:
		out := []any{}
		for range r.IntN(4) {
			out = append(out, randValue(r, depth-1))
		}
		return out
	}
}

// mutate copies v with one random change somewhere (or a fresh value).
func mutate(r *rand.Rand, v any, depth int) any {
	switch x := v.(type) {
	case map[string]any:
		if len(x) > 0 && depth > 0 && r.IntN(3) > 0 {
			out := make(map[string]any, len(x))
			for k, e := range x {
				out[k] = e
			}
			for k, e := range out {
				out[k] = mutate(r, e, depth-1)
				break
			}
			return out
		}
	case []any:
		if len(x) > 0 && depth > 0 && r.IntN(3) > 0 {
			out := append([]any{}, x...)
			i := r.IntN(len(out))
			out[i] = mutate(r, out[i], depth-1)
			return out
		}
	}
	return randValue(r, depth)
}
