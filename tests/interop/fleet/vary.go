package main

import (
	"crypto/rand"
	"fmt"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"txova.local/interop/wire"
)

// domainKeys mirrors the 4th/5th arguments of event_info{type, version,
// topic, key, fallback_key} in include/txova/kafka/events/*.hpp: the payload
// field whose value is the partition key, then the one used when it is empty
// or absent. Every type of a domain uses the same pair.
var domainKeys = map[string][2]string{
	"user":    {"user_id", ""},
	"driver":  {"driver_id", ""},
	"ride":    {"ride_id", ""},
	"payment": {"payment_id", ""},
	"payout":  {"payout_id", ""},
	"safety":  {"incident_id", "ride_id"},
}

func domainOf(typ string) string { return typ[:strings.IndexByte(typ+".", '.')] }

// jsonName is the wire name of a struct field.
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// stringField reads a string or *string payload field by wire name; "" when
// absent, nil or empty (the C++ event_key treats all three alike).
func stringField(payload any, name string) string {
	v := reflect.ValueOf(payload)
	for i := 0; i < v.NumField(); i++ {
		if jsonName(v.Type().Field(i)) != name {
			continue
		}
		f := v.Field(i)
		if f.Kind() == reflect.Pointer {
			if f.IsNil() {
				return ""
			}
			f = f.Elem()
		}
		if f.Kind() == reflect.String {
			return f.String()
		}
	}
	return ""
}

// partitionKey returns the key the C++ catalog would give the payload.
func partitionKey(typ string, payload any) (string, error) {
	keys, ok := domainKeys[domainOf(typ)]
	if !ok {
		return "", fmt.Errorf("event %q: no partition key known for its domain", typ)
	}
	for _, name := range keys {
		if name == "" {
			continue
		}
		if k := stringField(payload, name); k != "" {
			return k, nil
		}
	}
	return "", fmt.Errorf("event %q: payload has no partition key (%s)", typ, strings.Join(keys[:], ", else "))
}

// topicMap maps a domain ("ride", "payout", ...) or an exact event type to
// a topic; the exact type wins, so driver.location_updated can go to its own
// topic as in the C++ catalog.
type topicMap map[string]string

func loadTopicMap(path string) (topicMap, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m topicMap
	if err := wire.DecodeStrict(data, &m); err != nil {
		return nil, fmt.Errorf("%s: want a JSON object of domain or type to topic: %v", path, err)
	}
	for k, topic := range m {
		if _, domain := domainKeys[k]; !domain && wire.PayloadFactories[k] == nil {
			return nil, fmt.Errorf("%s: %q is neither a domain (%s) nor an event type", path, k, strings.Join(domains(), ", "))
		}
		if topic == "" {
			return nil, fmt.Errorf("%s: %q maps to an empty topic", path, k)
		}
	}
	var missing []string
	for _, d := range domains() {
		if m[d] == "" {
			missing = append(missing, d)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s: no topic for domain(s) %s", path, strings.Join(missing, ", "))
	}
	return m, nil
}

func (m topicMap) topic(typ string) string {
	if t, ok := m[typ]; ok {
		return t
	}
	return m[domainOf(typ)]
}

func domains() []string {
	out := make([]string, 0, len(domainKeys))
	for d := range domainKeys {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// newUUID returns a random (version 4, RFC 4122 variant) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// withDigits sets t's fraction so RFC 3339 nano shows exactly d digits
// (0..9): Go trims trailing zeros, so every kept digit is non-zero.
func withDigits(t time.Time, d int) time.Time {
	ns := 0
	if d > 0 {
		scale := int(math.Pow10(9 - d))
		ns = 123456789 / scale * scale
	}
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), ns, time.UTC)
}

// decorations are appended to free-text fields: what encoding/json escapes
// (<, >, &, U+2028, U+2029, controls) next to raw UTF-8 it leaves alone.
var decorations = []string{
	" <b>Mãe</b> & 🚗\u2028linha\u2029parágrafo",
	" a<b && c>d",
	" ção Mãe 🙏🏽 — “aspas”",
	" \"q\" \\ tab\t\x7f nl\n\u00a0",
	"",
}

// freeText are the payload fields that carry human text (enum-like strings
// such as user_type or severity are left alone so the events stay valid).
var freeText = map[string]bool{"reason": true, "review": true, "error_message": true}

// varyFloat picks one of a few float64 shapes encoding/json renders
// differently, keeping the value in range for the C++ validators
// (latitude/longitude, heading in [0, 360), non-negative speed/distance).
func varyFloat(f float64, variant int) float64 {
	switch variant {
	case 1: // shortest repr needs 17 digits: -25.968200000000003
		if f == 0 {
			return 0.1 + 0.2
		}
		return math.Nextafter(f, math.Copysign(math.Inf(1), f))
	case 2: // a whole float64, written without ".0": 111
		if f == math.Trunc(f) {
			return f + 99
		}
		return math.Trunc(f)
	case 3: // small enough for exponent notation: -2.59682e-7
		if f == 0 {
			return 1e-7
		}
		return f * 1e-8
	case 4: // the usual binary fraction noise, moved toward zero
		step := 0.1 * 3 // 0.30000000000000004
		switch {
		case f > 0:
			return f - math.Min(step, f/2)
		case f < 0:
			return f + math.Min(step, -f/2)
		}
		return 0.1 + 0.2
	}
	return f
}

// varier turns golden events into copy-specific ones.
type varier struct {
	actorTypes []string
	actors     int // actors assigned so far, so every type comes round
}

// vary returns the golden event as copy number n, message number seq
// overall: fresh ids, keys suffixed with n, varied shapes.
func (v *varier) vary(ev wire.Event, n, seq int) wire.Event {
	ev.ID = newUUID()
	ev.CorrelationID = newUUID()
	ev.Timestamp = withDigits(ev.Timestamp.Add(time.Duration(n)*time.Hour), seq%10)
	switch seq % 3 { // causation omitted, new, or the golden's (maybe nil)
	case 0:
		ev.CausationID = nil
	case 1:
		c := newUUID()
		ev.CausationID = &c
	}
	if seq%4 == 3 {
		ev.Actor = nil
	} else {
		id := "svc-" + ev.Source
		if ev.Actor != nil {
			id = ev.Actor.ID
		}
		ev.Actor = &wire.Actor{ID: id, Type: v.actorTypes[v.actors%len(v.actorTypes)]}
		v.actors++
	}
	p := reflect.New(reflect.TypeOf(ev.Payload)).Elem()
	p.Set(reflect.ValueOf(ev.Payload))
	ordinal := 0
	varyStruct(p, n, seq, &ordinal)
	ev.Payload = p.Interface()
	return ev
}

var timeType = reflect.TypeOf(time.Time{})

// varyStruct varies every field of s in place by kind and wire name;
// ordinal counts fields so floats of one event take different shapes.
func varyStruct(s reflect.Value, n, seq int, ordinal *int) {
	for i := 0; i < s.NumField(); i++ {
		f, name := s.Field(i), jsonName(s.Type().Field(i))
		*ordinal++
		switch {
		case f.Type() == timeType:
			f.Set(reflect.ValueOf(withDigits(f.Interface().(time.Time), (seq+5)%10)))
		case f.Kind() == reflect.Struct:
			varyStruct(f, n, seq, ordinal)
		case f.Kind() == reflect.String:
			f.SetString(varyString(name, f.String(), n))
		case f.Kind() == reflect.Pointer && f.Type().Elem().Kind() == reflect.String:
			// Optional text: omitted on even copies (omitempty), set on odd ones.
			if n%2 == 0 {
				f.Set(reflect.Zero(f.Type()))
				break
			}
			base := strings.TrimSuffix(name, "_id") + "-opt"
			if !f.IsNil() {
				base = f.Elem().String()
			}
			s := varyString(name, base, n)
			f.Set(reflect.ValueOf(&s))
		case f.Kind() == reflect.Float64:
			f.SetFloat(varyFloat(f.Float(), (n+*ordinal)%5))
		case f.Kind() == reflect.Int64 && name == "amount":
			if n%5 == 4 {
				f.SetInt(1<<53 + 1) // not representable as a double
			} else {
				f.SetInt(f.Int() + int64(n)*137)
			}
		}
	}
}

// varyString suffixes ids with the copy number (so keys spread over
// partitions) and decorates free text.
func varyString(name, s string, n int) string {
	switch {
	case strings.HasSuffix(name, "_id"):
		return s + "-" + strconv.Itoa(n)
	case freeText[name]:
		return s + decorations[n%len(decorations)]
	}
	return s
}
