// Command txova-peers measures the Go Kafka clients a txova service would use
// (twmb/franz-go and IBM/sarama) on the same broker, topic and envelope as
// txova-bench, so our C++ producer and consumer have Go peers to compare with.
//
// Usage:
//
//	txova-peers publish      -client franz-go|sarama -settings like-for-like|defaults -brokers B -topic T -envelope FILE -messages N [-keys 1024]
//	txova-peers consume      -client franz-go|sarama -settings like-for-like|defaults -brokers B -topic T -messages N [-group G]
//	txova-peers create-topic -brokers B -topic T -partitions 3 [-replication 1]
//
// publish and consume print one result line on stdout (progress and errors
// go to stderr); exit status 0 on success, 1 on failure, 2 on bad usage.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
)

// errUsage marks errors caused by the command line (exit status 2).
var errUsage = errors.New("usage")

const (
	clientFranz  = "franz-go"
	clientSarama = "sarama"

	settingsLike     = "like-for-like"
	settingsDefaults = "defaults"
)

type command struct {
	name, args string
	run        func(fs *flag.FlagSet, args []string) error
}

var commands = []command{
	{"publish", "-client franz-go|sarama -settings like-for-like|defaults -brokers B -topic T -envelope FILE -messages N [-keys 1024]", runPublish},
	{"consume", "-client franz-go|sarama -settings like-for-like|defaults -brokers B -topic T -messages N [-group G]", runConsume},
	{"create-topic", "-brokers B -topic T -partitions 3 [-replication 1]", runCreateTopic},
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage:")
	for _, c := range commands {
		fmt.Fprintf(os.Stderr, "  txova-peers %s %s\n", c.name, c.args)
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
		fs := flag.NewFlagSet("txova-peers "+c.name, flag.ContinueOnError)
		fs.Usage = func() {
			fmt.Fprintf(fs.Output(), "usage: txova-peers %s %s\n", c.name, c.args)
			fs.PrintDefaults()
		}
		err := c.run(fs, os.Args[2:])
		switch {
		case err == nil:
			return
		case errors.Is(err, flag.ErrHelp):
			os.Exit(2)
		case errors.Is(err, errUsage):
			fmt.Fprintf(os.Stderr, "txova-peers %s: %v\n", c.name, err)
			fs.Usage()
			os.Exit(2)
		default:
			fmt.Fprintf(os.Stderr, "txova-peers %s: FAILED: %v\n", c.name, err)
			os.Exit(1)
		}
	}
	fmt.Fprintf(os.Stderr, "txova-peers: unknown subcommand %q\n", os.Args[1])
	usage()
	os.Exit(2)
}

// commonFlags are the flags publish and consume share.
type commonFlags struct {
	client, settings, brokers, topic *string
	messages                         *int
}

func addCommonFlags(fs *flag.FlagSet) commonFlags {
	return commonFlags{
		client:   fs.String("client", "", "Go client: `franz-go` or sarama"),
		settings: fs.String("settings", "", "`like-for-like` (our C++ settings) or defaults (the client's own)"),
		brokers:  fs.String("brokers", "", "comma-separated bootstrap `brokers` host:port"),
		topic:    fs.String("topic", "", "existing `topic`"),
		messages: fs.Int("messages", 0, "`N`: how many records"),
	}
}

// check validates the shared flags once parsed.
func (c commonFlags) check() error {
	if *c.client != clientFranz && *c.client != clientSarama {
		return fmt.Errorf("%w: -client must be %s or %s, got %q", errUsage, clientFranz, clientSarama, *c.client)
	}
	if *c.settings != settingsLike && *c.settings != settingsDefaults {
		return fmt.Errorf("%w: -settings must be %s or %s, got %q", errUsage, settingsLike, settingsDefaults, *c.settings)
	}
	if len(splitList(*c.brokers)) == 0 || *c.topic == "" || *c.messages < 1 {
		return fmt.Errorf("%w: need -brokers, -topic and -messages of at least 1", errUsage)
	}
	return nil
}

func (c commonFlags) like() bool { return *c.settings == settingsLike }

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

// rate is messages per second, 0 for an empty interval.
func rate(n int, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}
