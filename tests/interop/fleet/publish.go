package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/IBM/sarama"

	"txova.local/interop/wire"
)

// manifestLine describes one published message. Payload is the payload
// exactly as encoded inside the envelope (already compact and escaped, so
// re-marshalling the RawMessage keeps its bytes; checked in publish).
type manifestLine struct {
	Type      string          `json:"type"`
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	Partition int32           `json:"partition"`
	Offset    int64           `json:"offset"`
	Key       string          `json:"key"`
	Payload   json.RawMessage `json:"payload"`
	ActorType *string         `json:"actor_type"`
}

// sendBatch bounds one SendMessages call; sarama batches within it anyway.
const sendBatch = 500

func runPublish(fs *flag.FlagSet, args []string) error {
	brokers := fs.String("brokers", "", "comma-separated bootstrap `brokers` host:port")
	topicMapPath := fs.String("topic-map", "", "JSON `FILE`: {\"user\":topic,...} by domain (payment and payout apart), exact types override")
	perType := fs.Int("per-type", 0, "publish `N` envelopes per catalog event type")
	manifestPath := fs.String("manifest", "", "output `FILE`: one JSON line per published message")
	actorTypes := fs.String("actor-types", "user,system,admin,rider", "actor.type `values` to cycle through")
	version := kafkaVersionFlag(fs)
	if err := parseFlags(fs, args, "brokers", "topic-map", "per-type", "manifest"); err != nil {
		return err
	}
	if *perType < 1 {
		return fmt.Errorf("%w: -per-type must be at least 1", errUsage)
	}
	v := &varier{actorTypes: splitList(*actorTypes)}
	if len(v.actorTypes) == 0 {
		return fmt.Errorf("%w: -actor-types is empty", errUsage)
	}
	topics, err := loadTopicMap(*topicMapPath)
	if err != nil {
		return err
	}
	// A Go txova service: sarama defaults, plus the successes a SyncProducer
	// requires. No headers: the envelope carries everything.
	cfg, err := saramaConfig(*version)
	if err != nil {
		return err
	}
	cfg.Producer.Return.Successes = true

	var (
		msgs  []*sarama.ProducerMessage
		lines []manifestLine
	)
	golden := wire.GoldenEvents()
	for n := 0; n < *perType; n++ {
		for i, g := range golden {
			ev := v.vary(g, n, n*len(golden)+i)
			env, err := ev.Envelope()
			if err != nil {
				return err
			}
			value, err := json.Marshal(env)
			if err != nil {
				return fmt.Errorf("event %q: marshal envelope: %w", ev.Type, err)
			}
			key, err := partitionKey(ev.Type, ev.Payload)
			if err != nil {
				return err
			}
			line := manifestLine{Type: ev.Type, ID: ev.ID, Topic: topics.topic(ev.Type), Key: key, Payload: env.Payload}
			if ev.Actor != nil {
				line.ActorType = &ev.Actor.Type
			}
			msgs = append(msgs, &sarama.ProducerMessage{
				Topic:    line.Topic,
				Key:      sarama.StringEncoder(key),
				Value:    sarama.ByteEncoder(value),
				Metadata: len(lines),
			})
			lines = append(lines, line)
		}
	}

	start := time.Now()
	producer, err := sarama.NewSyncProducer(splitList(*brokers), cfg)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", *brokers, err)
	}
	failed := map[int]error{}
	for lo := 0; lo < len(msgs); lo += sendBatch {
		batch := msgs[lo:min(lo+sendBatch, len(msgs))]
		err := producer.SendMessages(batch)
		var perr sarama.ProducerErrors
		if errors.As(err, &perr) {
			for _, pe := range perr {
				failed[pe.Msg.Metadata.(int)] = pe.Err
			}
		} else if err != nil {
			for _, m := range batch {
				failed[m.Metadata.(int)] = err
			}
		}
	}
	if err := producer.Close(); err != nil && len(failed) == 0 {
		return fmt.Errorf("close producer: %w", err)
	}
	elapsed := time.Since(start)

	if err := writeManifest(*manifestPath, msgs, lines, failed); err != nil {
		return err
	}
	topicSet := map[string]bool{}
	for _, l := range lines {
		topicSet[l.Topic] = true
	}
	fmt.Fprintf(os.Stderr, "publish: %d of %d envelope(s) (%d type(s) x %d) to %d topic(s) in %s, %d failed -> %s\n",
		len(msgs)-len(failed), len(msgs), len(golden), *perType, len(topicSet), elapsed.Round(time.Millisecond), len(failed), *manifestPath)
	if len(failed) > 0 {
		for i, l := range lines {
			if err := failed[i]; err != nil {
				return fmt.Errorf("%d message(s) not delivered; first: %s %s to %s: %v", len(failed), l.Type, l.ID, l.Topic, err)
			}
		}
	}
	return nil
}

// writeManifest writes a line for every delivered message, in publish order.
func writeManifest(path string, msgs []*sarama.ProducerMessage, lines []manifestLine, failed map[int]error) error {
	out, err := createLines(path)
	if err != nil {
		return err
	}
	for i, l := range lines {
		if failed[i] != nil {
			continue
		}
		l.Partition, l.Offset = msgs[i].Partition, msgs[i].Offset
		b, err := json.Marshal(l)
		if err != nil {
			out.Close()
			return err
		}
		if !bytes.Contains(b, l.Payload) {
			out.Close()
			return fmt.Errorf("manifest line of %s %s does not hold the payload bytes as published", l.Type, l.ID)
		}
		out.Line(b)
	}
	return out.Close()
}
