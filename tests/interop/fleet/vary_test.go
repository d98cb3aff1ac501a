package main

import (
	"regexp"
	"strings"
	"testing"

	"txova.local/interop/wire"
)

// published builds what publish would send for n copies, without a broker.
func published(t *testing.T, n int) (values [][]byte, keys []string) {
	t.Helper()
	v := &varier{actorTypes: []string{"user", "system", "admin", "rider"}}
	golden := wire.GoldenEvents()
	for c := 0; c < n; c++ {
		for i, g := range golden {
			ev := v.vary(g, c, c*len(golden)+i)
			b, err := ev.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			key, err := partitionKey(ev.Type, ev.Payload)
			if err != nil {
				t.Fatal(err)
			}
			values, keys = append(values, b), append(keys, key)
		}
	}
	return values, keys
}

func TestVariedEnvelopesAreCanonicalAndCoverTheShapes(t *testing.T) {
	values, keys := published(t, 10)
	all := string(joinLines(values))
	for _, k := range keys {
		if k == "" {
			t.Fatal("empty partition key")
		}
	}
	for _, b := range values {
		env, p, err := wire.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		again, err := wire.Reencode(env, p)
		if err != nil || string(again) != string(b) {
			t.Fatalf("not canonical: %s", b)
		}
	}
	// Every fraction length 0..9 of the envelope timestamp.
	for d := 0; d <= 9; d++ {
		frac := `\.\d{` + string(rune('0'+d)) + `}Z"`
		if d == 0 {
			frac = `:\d\dZ"`
		}
		if !regexp.MustCompile(`"timestamp":"[^"]*` + frac).MatchString(all) {
			t.Errorf("no timestamp with %d fraction digits", d)
		}
	}
	for _, want := range []string{
		`\u003c`, `\u003e`, `\u0026`, `\u2028`, `\u2029`, "Mãe", "🚗", // escapes and raw UTF-8
		`"distance_km":111`, `e-7`, `9007199254740993`, // number shapes
		`"type":"rider"`, `"type":"admin"`, `"type":"system"`, `"review":`, `"ride_id":"ride-opt-`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no envelope contains %s", want)
		}
	}
	// A 17-digit shortest float such as -25.969200000000004.
	if !regexp.MustCompile(`"lat":-25\.\d{15}[,}]`).MatchString(all) {
		t.Error("no 17-digit latitude")
	}
	for _, omitted := range []string{`"causation_id"`, `"actor"`, `"review"`} {
		n := 0
		for _, b := range values {
			if !strings.Contains(string(b), omitted) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s is never omitted", omitted)
		}
	}
	if testing.Verbose() {
		for _, b := range values[28*3 : 28*3+28] {
			t.Logf("%s", b)
		}
	}
}

func TestPartitionKeyFollowsTheCatalog(t *testing.T) {
	for typ, want := range map[string]string{
		"safety.emergency_triggered": "ride-7f3a9c2e", // no incident_id field: falls back to ride_id
		"safety.incident_reported":   "inc-2d7f0c39",
		"payout.completed":           "payout-5e2c88a1",
		"driver.location_updated":    "drv-3c8e51a0",
	} {
		for _, ev := range wire.GoldenEvents() {
			if ev.Type == typ {
				if got, err := partitionKey(typ, ev.Payload); err != nil || got != want {
					t.Errorf("%s: key %q, %v; want %q", typ, got, err, want)
				}
			}
		}
	}
	for typ := range wire.PayloadFactories {
		if _, ok := domainKeys[domainOf(typ)]; !ok {
			t.Errorf("%s: domain has no key", typ)
		}
	}
}

func joinLines(bs [][]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(append(out, b...), '\n')
	}
	return out
}
