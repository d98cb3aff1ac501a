// Command interop generates, checks and round-trips the golden JSON event
// envelopes in tests/data/envelopes. The files are exactly what Go's
// encoding/json produces for the types in package wire, so the C++ library can
// be tested for byte compatibility against them.
//
// Usage:
//
//	go run . -out DIR          write DIR/<type>.json (one per event type)
//	go run . -check DIR        compare DIR against what -out would write
//	go run . -roundtrip FILE…  decode + re-encode each file, require identical bytes
//
// Exit status: 0 success, 1 differences found, 2 usage or I/O error.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"txova.local/interop/wire"
)

// golden is one generated file: its event type and the exact bytes.
type golden struct {
	Type  string
	Bytes []byte
}

// buildGoldens marshals every event and validates that the set of events is
// exactly the set of known types, each with the right payload struct.
func buildGoldens() ([]golden, error) {
	evs := wire.GoldenEvents()
	seen := make(map[string]bool, len(evs))
	out := make([]golden, 0, len(evs))
	for _, ev := range evs {
		factory, ok := wire.PayloadFactories[ev.Type]
		if !ok {
			return nil, fmt.Errorf("event %q: no payload factory", ev.Type)
		}
		if seen[ev.Type] {
			return nil, fmt.Errorf("event %q: duplicate golden", ev.Type)
		}
		seen[ev.Type] = true
		if want, got := reflect.TypeOf(factory()).Elem(), reflect.TypeOf(ev.Payload); want != got {
			return nil, fmt.Errorf("event %q: payload is %v, factory gives %v", ev.Type, got, want)
		}
		b, err := ev.Marshal()
		if err != nil {
			return nil, err
		}
		out = append(out, golden{Type: ev.Type, Bytes: b})
	}
	for typ := range wire.PayloadFactories {
		if !seen[typ] {
			return nil, fmt.Errorf("event %q: no golden defined", typ)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Type < out[j].Type })
	return out, nil
}

func fileName(typ string) string { return typ + ".json" }

func writeGoldens(dir string, gs []golden) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, g := range gs {
		p := filepath.Join(dir, fileName(g.Type))
		if err := os.WriteFile(p, g.Bytes, 0o644); err != nil {
			return err
		}
		fmt.Printf("wrote %s (%d bytes)\n", p, len(g.Bytes))
	}
	return nil
}

// describeDiff reports the first differing byte with some context.
func describeDiff(want, got []byte) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	lo := i - 30
	if lo < 0 {
		lo = 0
	}
	clip := func(b []byte) []byte {
		hi := i + 30
		if hi > len(b) {
			hi = len(b)
		}
		if lo > len(b) {
			return nil
		}
		return b[lo:hi]
	}
	return fmt.Sprintf("first difference at byte %d (want %d bytes, got %d bytes)\n      want …%q…\n      got  …%q…",
		i, len(want), len(got), clip(want), clip(got))
}

// checkGoldens compares dir with the expected goldens. Missing, different
// and unexpected *.json files are all reported as differences.
func checkGoldens(dir string, gs []golden) (int, error) {
	problems := 0
	expected := make(map[string]bool, len(gs))
	for _, g := range gs {
		name := fileName(g.Type)
		expected[name] = true
		p := filepath.Join(dir, name)
		got, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			fmt.Printf("MISSING  %s\n", p)
			problems++
			continue
		} else if err != nil {
			return problems, err
		}
		if !bytes.Equal(got, g.Bytes) {
			fmt.Printf("DIFFERS  %s: %s\n", p, describeDiff(g.Bytes, got))
			problems++
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return problems, err
	}
	for _, e := range entries {
		if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") && !expected[e.Name()] {
			fmt.Printf("EXTRA    %s (not produced by the generator)\n", filepath.Join(dir, e.Name()))
			problems++
		}
	}
	return problems, nil
}

// roundTrip decodes an envelope file and its typed payload, re-encodes both
// and returns the re-encoded bytes.
func roundTrip(data []byte) ([]byte, error) {
	env, p, err := wire.Decode(data)
	if err != nil {
		return nil, err
	}
	return wire.Reencode(env, p)
}

func runRoundTrip(files []string) int {
	if len(files) == 0 {
		fmt.Fprintln(os.Stderr, "-roundtrip: no files given")
		return 2
	}
	failed := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			fmt.Printf("ERROR    %s: %v\n", f, err)
			failed++
			continue
		}
		out, err := roundTrip(data)
		if err != nil {
			fmt.Printf("ERROR    %s: %v\n", f, err)
			failed++
			continue
		}
		if !bytes.Equal(out, data) {
			fmt.Printf("DIFFERS  %s: %s\n", f, describeDiff(out, data))
			failed++
			continue
		}
		fmt.Printf("ok       %s\n", f)
	}
	if failed > 0 {
		fmt.Printf("roundtrip: %d of %d file(s) are not canonical Go encoding/json output\n", failed, len(files))
		return 1
	}
	fmt.Printf("roundtrip: all %d file(s) are canonical\n", len(files))
	return 0
}

func main() {
	outDir := flag.String("out", "", "write golden envelopes to `DIR`")
	checkDir := flag.String("check", "", "compare golden envelopes with the files in `DIR`")
	roundtrip := flag.Bool("roundtrip", false, "decode and re-encode the FILE arguments; fail unless byte-identical")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(),
			"usage: %s -out DIR | -check DIR | -roundtrip FILE...\n", filepath.Base(os.Args[0]))
		flag.PrintDefaults()
	}
	flag.Parse()

	modes := 0
	for _, set := range []bool{*outDir != "", *checkDir != "", *roundtrip} {
		if set {
			modes++
		}
	}
	if modes != 1 || (!*roundtrip && flag.NArg() != 0) {
		flag.Usage()
		os.Exit(2)
	}

	if *roundtrip {
		os.Exit(runRoundTrip(flag.Args()))
	}

	gs, err := buildGoldens()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}

	if *outDir != "" {
		if err := writeGoldens(*outDir, gs); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
		fmt.Printf("wrote %d golden envelope(s)\n", len(gs))
		return
	}

	problems, err := checkGoldens(*checkDir, gs)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	if problems > 0 {
		fmt.Printf("check: %d difference(s) in %s\n", problems, *checkDir)
		os.Exit(1)
	}
	fmt.Printf("check: all %d golden envelope(s) in %s match\n", len(gs), *checkDir)
}
