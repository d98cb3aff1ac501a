// Package cli is the subcommand skeleton the Go test and benchmark programs
// (tests/interop/fleet, benchmarks/peers) share: dispatch, strict flag parsing
// and exit statuses (0 success, 1 failure, 2 bad usage). Standard library only.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// ErrUsage marks errors caused by the command line (exit status 2).
var ErrUsage = errors.New("usage")

// Command is one subcommand: its name, its flags for the usage text, and what
// it runs with a fresh flag set and the arguments after its name.
type Command struct {
	Name, Args string
	Run        func(fs *flag.FlagSet, args []string) error
}

func usage(program string, commands []Command) {
	fmt.Fprintln(os.Stderr, "usage:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  %s %s %s\n", program, c.Name, c.Args)
	}
}

// Main runs the subcommand named by os.Args[1] and exits with its status.
func Main(program string, commands []Command) {
	if len(os.Args) < 2 {
		usage(program, commands)
		os.Exit(2)
	}
	for _, c := range commands {
		if c.Name != os.Args[1] {
			continue
		}
		fs := flag.NewFlagSet(program+" "+c.Name, flag.ContinueOnError)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: %s %s %s\n", program, c.Name, c.Args)
			fs.PrintDefaults()
		}
		err := c.Run(fs, os.Args[2:])
		switch {
		case err == nil:
			return
		case errors.Is(err, flag.ErrHelp):
			os.Exit(2)
		case errors.Is(err, ErrUsage):
			fmt.Fprintf(os.Stderr, "%s %s: %v\n", program, c.Name, err)
			fs.Usage()
			os.Exit(2)
		default:
			fmt.Fprintf(os.Stderr, "%s %s: FAILED: %v\n", program, c.Name, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "%s: unknown subcommand %q\n", program, os.Args[1])
	usage(program, commands)
	os.Exit(2)
}

// ParseFlags parses args and rejects positional leftovers and missing
// required flags, so a typo cannot silently run with defaults.
func ParseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", ErrUsage, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range required {
		if !set[name] {
			return fmt.Errorf("%w: -%s is required", ErrUsage, name)
		}
	}
	return nil
}

// SplitList splits a comma-separated flag value, dropping empty items.
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}
