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
	"flag"
	"fmt"

	"txova.local/interop/cli"
)

// The shared skeleton (tests/interop/go/cli) under this program's names.
var (
	errUsage   = cli.ErrUsage
	parseFlags = cli.ParseFlags
	splitList  = cli.SplitList
)

const (
	clientFranz  = "franz-go"
	clientSarama = "sarama"

	settingsLike     = "like-for-like"
	settingsDefaults = "defaults"
)

var commands = []cli.Command{
	{Name: "publish", Args: "-client franz-go|sarama -settings like-for-like|defaults -brokers B -topic T -envelope FILE -messages N [-keys 1024]", Run: runPublish},
	{Name: "consume", Args: "-client franz-go|sarama -settings like-for-like|defaults -brokers B -topic T -messages N [-group G]", Run: runConsume},
	{Name: "create-topic", Args: "-brokers B -topic T -partitions 3 [-replication 1]", Run: runCreateTopic},
}

func main() { cli.Main("txova-peers", commands) }

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

// rate is messages per second, 0 for an empty interval.
func rate(n int, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return float64(n) / seconds
}
