package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"
)

// runCreateTopic exists because the test brokers do not auto-create topics
// and kadm is a separate module; sarama's admin is already a dependency. An
// existing topic is fine when its partition count matches.
func runCreateTopic(fs *flag.FlagSet, args []string) error {
	brokers := fs.String("brokers", "", "comma-separated bootstrap `brokers` host:port")
	topic := fs.String("topic", "", "`topic` to create")
	partitions := fs.Int("partitions", 3, "partition `count`")
	replication := fs.Int("replication", 1, "replication `factor`")
	if err := parseFlags(fs, args, "brokers", "topic"); err != nil {
		return err
	}
	if *partitions < 1 || *replication < 1 {
		return fmt.Errorf("%w: -partitions and -replication must be at least 1", errUsage)
	}
	admin, err := sarama.NewClusterAdmin(splitList(*brokers), sarama.NewConfig())
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *brokers, err)
	}
	defer admin.Close()

	detail := &sarama.TopicDetail{NumPartitions: int32(*partitions), ReplicationFactor: int16(*replication)}
	err = admin.CreateTopic(*topic, detail, false)
	if err == nil {
		fmt.Fprintf(os.Stderr, "create-topic: created %s with %d partition(s)\n", *topic, *partitions)
		return waitTopicReady(*brokers, *topic, 30*time.Second)
	}
	if !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		return fmt.Errorf("create %s: %w", *topic, err)
	}
	meta, err := admin.DescribeTopics([]string{*topic})
	if err != nil || len(meta) != 1 {
		return fmt.Errorf("describe existing %s: %v", *topic, err)
	}
	if got := len(meta[0].Partitions); got != *partitions {
		return fmt.Errorf("topic %s exists with %d partition(s), want %d", *topic, got, *partitions)
	}
	fmt.Fprintf(os.Stderr, "create-topic: %s already exists with %d partition(s)\n", *topic, *partitions)
	return nil
}

// waitTopicReady returns once the leader of every partition of topic answers
// ListOffsets. CreateTopics succeeds when the controller has the topic; the
// broker creates the partitions a few ms later, and metadata can already list
// them. A produce in that gap fails with a retriable error, and franz-go then
// waits for a metadata refresh (MetadataMinAge, 5 s) with every buffered
// record of that partition stuck: a 5 s stall in a 1 s benchmark.
func waitTopicReady(brokers, topic string, timeout time.Duration) error {
	cfg := sarama.NewConfig()
	cfg.Metadata.AllowAutoTopicCreation = false
	client, err := sarama.NewClient(splitList(brokers), cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", brokers, err)
	}
	defer client.Close()
	start := time.Now()
	for {
		err = partitionsReady(client, topic)
		if err == nil {
			if waited := time.Since(start); waited > 100*time.Millisecond {
				fmt.Fprintf(os.Stderr, "topic %s ready after %s\n", topic, waited.Round(time.Millisecond))
			}
			return nil
		}
		if time.Since(start) > timeout {
			return fmt.Errorf("topic %s not ready after %s: %w", topic, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func partitionsReady(client sarama.Client, topic string) error {
	if err := client.RefreshMetadata(topic); err != nil {
		return err
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return fmt.Errorf("no partitions")
	}
	for _, p := range parts {
		if _, err := client.GetOffset(topic, p, sarama.OffsetNewest); err != nil {
			return fmt.Errorf("partition %d: %w", p, err)
		}
	}
	return nil
}
