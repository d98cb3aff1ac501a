package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/IBM/sarama"

	"txova.local/interop/wire"
)

// consumedLine describes one consumed message. Key is null when the
// message has none. Canonical says whether re-encoding the decoded envelope
// with encoding/json gives the same bytes (informative; "ok" is decoding).
type consumedLine struct {
	Topic     string            `json:"topic"`
	Partition int32             `json:"partition"`
	Offset    int64             `json:"offset"`
	Key       *string           `json:"key"`
	Type      string            `json:"type"`
	ID        string            `json:"id"`
	OK        bool              `json:"ok"`
	Error     string            `json:"error"`
	Canonical bool              `json:"canonical"`
	Headers   map[string]string `json:"headers"`
}

// collector records messages from all claims until count is reached.
type collector struct {
	mu        sync.Mutex
	out       *lineWriter
	want      int
	seen      map[string]bool // topic/partition/offset: a rebalance may redeliver
	got       int
	failed    int
	canonical int
	firstErr  string
	done      context.CancelFunc
}

func (c *collector) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (c *collector) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (c *collector) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			c.record(msg)
			sess.MarkMessage(msg, "")
		case <-sess.Context().Done():
			return nil
		}
	}
}

func (c *collector) record(msg *sarama.ConsumerMessage) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := fmt.Sprintf("%s/%d/%d", msg.Topic, msg.Partition, msg.Offset)
	if c.got >= c.want || c.seen[id] {
		return
	}
	c.seen[id] = true
	line := describe(msg)
	if !line.OK {
		c.failed++
		if c.firstErr == "" {
			c.firstErr = id + ": " + line.Error
		}
	}
	if line.Canonical {
		c.canonical++
	}
	b, _ := json.Marshal(line) // only strings, ints and bools: cannot fail
	c.out.Line(b)
	if c.got++; c.got == c.want {
		c.done()
	}
}

// describe decodes a message strictly, as the tightest Go consumer would.
func describe(msg *sarama.ConsumerMessage) consumedLine {
	line := consumedLine{Topic: msg.Topic, Partition: msg.Partition, Offset: msg.Offset, Headers: map[string]string{}}
	if msg.Key != nil {
		k := string(msg.Key)
		line.Key = &k
	}
	for _, h := range msg.Headers {
		if h != nil {
			line.Headers[string(h.Key)] = string(h.Value)
		}
	}
	env, payload, err := wire.Decode(msg.Value)
	line.Type, line.ID = env.Type, env.ID
	if err != nil {
		// Still name the event if a lenient decode can.
		var loose struct{ Type, ID string }
		if json.Unmarshal(msg.Value, &loose) == nil {
			line.Type, line.ID = loose.Type, loose.ID
		}
		line.Error = err.Error()
		return line
	}
	line.OK = true
	if again, err := wire.Reencode(env, payload); err == nil {
		line.Canonical = bytes.Equal(again, msg.Value)
	}
	return line
}

func runConsume(fs *flag.FlagSet, args []string) error {
	brokers := fs.String("brokers", "", "comma-separated bootstrap `brokers` host:port")
	topicsFlag := fs.String("topics", "", "comma-separated `topics` to read")
	group := fs.String("group", "", "consumer `group` id")
	count := fs.Int("count", 0, "stop after this many `messages`")
	timeout := fs.Duration("timeout", 60*time.Second, "give up after this `duration`")
	outPath := fs.String("out", "", "output `FILE`: one JSON line per consumed message")
	version := kafkaVersionFlag(fs)
	if err := parseFlags(fs, args, "brokers", "topics", "group", "count", "out"); err != nil {
		return err
	}
	topics := splitList(*topicsFlag)
	if len(topics) == 0 || *count < 1 {
		return fmt.Errorf("%w: need at least one topic and -count of at least 1", errUsage)
	}
	cfg, err := saramaConfig(*version)
	if err != nil {
		return err
	}
	// A new group starts from the beginning, so messages published before
	// the consumer joined are read too.
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest

	out, err := createLines(*outPath)
	if err != nil {
		return err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &collector{out: out, want: *count, seen: map[string]bool{}, done: cancel}

	cg, err := sarama.NewConsumerGroup(splitList(*brokers), *group, cfg)
	if err != nil {
		out.Close()
		return fmt.Errorf("connect to %s: %w", *brokers, err)
	}
	var consumeErr error
	// Consume returns at every rebalance; loop until done or timed out.
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, topics, c); err != nil && ctx.Err() == nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				break
			}
			consumeErr = err
			time.Sleep(500 * time.Millisecond) // transient (e.g. coordinator moving): retry
		}
	}
	closeErr := cg.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	writeErr := out.Close()

	fmt.Fprintf(os.Stderr, "consume: %d of %d message(s) from %d topic(s) in %s, %d failed to decode, %d canonical -> %s\n",
		c.got, c.want, len(topics), time.Since(start).Round(time.Millisecond), c.failed, c.canonical, *outPath)
	switch {
	case writeErr != nil:
		return writeErr
	case c.failed > 0:
		return fmt.Errorf("%d message(s) failed to decode; first: %s", c.failed, c.firstErr)
	case c.got < c.want:
		msg := fmt.Sprintf("only %d of %d message(s) arrived within %s", c.got, c.want, *timeout)
		if consumeErr != nil {
			msg += fmt.Sprintf(" (last consumer error: %v)", consumeErr)
		}
		return errors.New(msg)
	case closeErr != nil:
		return fmt.Errorf("close consumer group: %w", closeErr)
	}
	return nil
}
