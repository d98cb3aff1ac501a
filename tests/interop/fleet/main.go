// Command fleet plays the Go side of the txova fleet against a real Kafka
// cluster: it computes partitions the way the Go clients do, publishes
// envelopes exactly as a Go txova service (sarama + encoding/json) would, and
// consumes envelopes as a strict Go consumer, so the C++ library can be
// checked against all three.
//
// Usage:
//
//	fleet partitions    -keys FILE -partitions 1,7,12 -hasher sarama|murmur2 -out FILE
//	fleet publish       -brokers B -topic-map FILE -per-type N -manifest FILE [-actor-types user,system,admin,rider]
//	fleet consume       -brokers B -topics T1,T2 -group G -count N -timeout 60s -out FILE
//	fleet create-topics -brokers B -topics t1:3,t2:12 [-replication 1]
//
// Every subcommand prints a one-line summary to stderr; exit status 0 on
// success, 1 on any failure, 2 on bad usage.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/IBM/sarama"
)

// errUsage marks errors caused by the command line (exit status 2).
var errUsage = errors.New("usage")

type command struct {
	name, args string
	run        func(fs *flag.FlagSet, args []string) error
}

var commands = []command{
	{"partitions", "-keys FILE -partitions 1,7,12 -hasher sarama|murmur2 -out FILE", runPartitions},
	{"publish", "-brokers B -topic-map FILE -per-type N -manifest FILE [-actor-types user,system,admin,rider]", runPublish},
	{"consume", "-brokers B -topics T1,T2 -group G -count N -timeout 60s -out FILE", runConsume},
	{"create-topics", "-brokers B -topics t1:3,t2:12 [-replication 1]", runCreateTopics},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  fleet %s %s\n", c.name, c.args)
	}
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	for _, c := range commands {
		if c.name != os.Args[1] {
			continue
		}
		fs := flag.NewFlagSet("fleet "+c.name, flag.ContinueOnError)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: fleet %s %s\n", c.name, c.args)
			fs.PrintDefaults()
		}
		err := c.run(fs, os.Args[2:])
		switch {
		case err == nil:
			return
		case errors.Is(err, flag.ErrHelp):
			os.Exit(2)
		case errors.Is(err, errUsage):
			fmt.Fprintf(os.Stderr, "fleet %s: %v\n", c.name, err)
			fs.Usage()
			os.Exit(2)
		default:
			fmt.Fprintf(os.Stderr, "fleet %s: FAILED: %v\n", c.name, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "fleet: unknown subcommand %q\n", os.Args[1])
	usage()
	os.Exit(2)
}

// parseFlags parses args and rejects positional leftovers and missing
// required flags, so a typo cannot silently run with defaults.
func parseFlags(fs *flag.FlagSet, args []string, required ...string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, name := range required {
		if !set[name] {
			return fmt.Errorf("%w: -%s is required", errUsage, name)
		}
	}
	return nil
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// kafkaVersionFlag registers -kafka-version. Sarama's default (2.8) still
// works against Kafka 4.x, but a 3.x protocol level is what a current Go
// service would configure.
func kafkaVersionFlag(fs *flag.FlagSet) *string {
	return fs.String("kafka-version", "3.6.0", "protocol `version` sarama assumes the brokers speak")
}

// saramaConfig is sarama's default config with only the protocol version
// changed; callers add what their role strictly needs.
func saramaConfig(version string) (*sarama.Config, error) {
	v, err := sarama.ParseKafkaVersion(version)
	if err != nil {
		return nil, fmt.Errorf("%w: -kafka-version: %v", errUsage, err)
	}
	cfg := sarama.NewConfig()
	cfg.Version = v
	return cfg, nil
}

// lineWriter writes one line per record to a file, buffered, and reports
// the first write error on Close.
type lineWriter struct {
	f *os.File
	w *bufio.Writer
}

func createLines(path string) (*lineWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &lineWriter{f: f, w: bufio.NewWriter(f)}, nil
}

func (l *lineWriter) Line(b []byte) {
	l.w.Write(b)
	l.w.WriteByte('\n')
}

func (l *lineWriter) Close() error {
	err := l.w.Flush()
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	return err
}
