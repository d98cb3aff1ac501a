package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
)

// runCreateTopics exists because the test brokers do not auto-create topics;
// an existing topic is fine when its partition count matches.
func runCreateTopics(fs *flag.FlagSet, args []string) error {
	brokers := fs.String("brokers", "", "comma-separated bootstrap `brokers` host:port")
	topicsFlag := fs.String("topics", "", "comma-separated `name:partitions` items")
	replication := fs.Int("replication", 1, "replication `factor`")
	version := kafkaVersionFlag(fs)
	if err := parseFlags(fs, args, "brokers", "topics"); err != nil {
		return err
	}
	want := map[string]int32{}
	var order []string
	for _, item := range splitList(*topicsFlag) {
		name, count, ok := strings.Cut(item, ":")
		n, err := strconv.ParseInt(count, 10, 32)
		if !ok || name == "" || err != nil || n < 1 {
			return fmt.Errorf("%w: -topics: %q is not name:partitions", errUsage, item)
		}
		want[name] = int32(n)
		order = append(order, name)
	}
	if len(order) == 0 {
		return fmt.Errorf("%w: -topics is empty", errUsage)
	}
	cfg, err := saramaConfig(*version)
	if err != nil {
		return err
	}
	admin, err := sarama.NewClusterAdmin(splitList(*brokers), cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *brokers, err)
	}
	defer admin.Close()

	created, existed := 0, 0
	for _, name := range order {
		detail := &sarama.TopicDetail{NumPartitions: want[name], ReplicationFactor: int16(*replication)}
		err := admin.CreateTopic(name, detail, false)
		if err == nil {
			created++
			continue
		}
		if !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create %s: %w", name, err)
		}
		meta, err := admin.DescribeTopics([]string{name})
		if err != nil || len(meta) != 1 {
			return fmt.Errorf("describe existing %s: %v", name, err)
		}
		if got := int32(len(meta[0].Partitions)); got != want[name] {
			return fmt.Errorf("topic %s exists with %d partition(s), want %d", name, got, want[name])
		}
		existed++
	}
	fmt.Fprintf(os.Stderr, "create-topics: %d created, %d already existed with the same partition count\n", created, existed)
	return nil
}
