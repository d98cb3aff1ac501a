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
	"flag"
	"fmt"
	"os"

	"github.com/IBM/sarama"

	"txova.local/interop/cli"
)

// The shared skeleton (tests/interop/go/cli) under this program's names.
var (
	errUsage   = cli.ErrUsage
	parseFlags = cli.ParseFlags
	splitList  = cli.SplitList
)

var commands = []cli.Command{
	{Name: "partitions", Args: "-keys FILE -partitions 1,7,12 -hasher sarama|murmur2 -out FILE", Run: runPartitions},
	{Name: "publish", Args: "-brokers B -topic-map FILE -per-type N -manifest FILE [-actor-types user,system,admin,rider]", Run: runPublish},
	{Name: "consume", Args: "-brokers B -topics T1,T2 -group G -count N -timeout 60s -out FILE", Run: runConsume},
	{Name: "create-topics", Args: "-brokers B -topics t1:3,t2:12 [-replication 1]", Run: runCreateTopics},
}

func main() { cli.Main("fleet", commands) }

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
