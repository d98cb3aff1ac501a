package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// What our C++ producer runs with in txova-bench (like-for-like).
const (
	likeLinger      = 5 * time.Millisecond
	likeBatchBytes  = 16 << 10
	likeMaxInFlight = 10000
)

// acks counts acknowledgments from any goroutine and notes when the last
// one arrived, so the clock stops at the N-th acknowledgment, not at Close.
type acks struct {
	want     int64
	ok, errs atomic.Int64
	end      atomic.Int64 // UnixNano of the want-th acknowledgment
	done     chan struct{}
	errOnce  sync.Once
	firstErr error
}

func newAcks(n int) *acks { return &acks{want: int64(n), done: make(chan struct{})} }

func (a *acks) ack(err error) {
	if err != nil {
		a.errOnce.Do(func() { a.firstErr = err }) // before the count: done implies it is set
		a.errs.Add(1)
	} else {
		a.ok.Add(1)
	}
	if a.ok.Load()+a.errs.Load() == a.want && a.end.CompareAndSwap(0, time.Now().UnixNano()) {
		close(a.done)
	}
}

func runPublish(fs *flag.FlagSet, args []string) error {
	cf := addCommonFlags(fs)
	envelopePath := fs.String("envelope", "", "`FILE` holding one JSON envelope, published as is")
	keys := fs.Int("keys", 1024, "number of distinct `keys` (ride-100000 ...)")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this `duration`")
	if err := parseFlags(fs, args, "client", "settings", "brokers", "topic", "envelope", "messages"); err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if *keys < 1 {
		return fmt.Errorf("%w: -keys must be at least 1", errUsage)
	}
	value, err := os.ReadFile(*envelopePath)
	if err != nil {
		return err
	}
	// Keys are built once: the benchmark measures the client, not strconv.
	keyBytes := make([][]byte, *keys)
	for k := range keyBytes {
		keyBytes[k] = []byte("ride-" + strconv.Itoa(100000+k))
	}

	// The caller may have created the topic a moment ago; see waitTopicReady.
	if err := waitTopicReady(*cf.brokers, *cf.topic, 30*time.Second); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	a := newAcks(*cf.messages)
	var start time.Time
	if *cf.client == clientFranz {
		start, err = publishFranz(ctx, cf, value, keyBytes, a)
	} else {
		start, err = publishSarama(ctx, cf, value, keyBytes, a)
	}
	if err != nil {
		return err
	}
	seconds := float64(a.end.Load()-start.UnixNano()) / 1e9
	fmt.Printf("peer_publish_result client=%s settings=%s messages=%d errors=%d seconds=%.3f msgs=%.0f\n",
		*cf.client, *cf.settings, *cf.messages, a.errs.Load(), seconds, rate(*cf.messages, seconds))
	fmt.Fprintf(os.Stderr, "publish: %d acknowledged, %d failed, %d-byte value, %d keys\n",
		a.ok.Load(), a.errs.Load(), len(value), *keys)
	if a.firstErr != nil {
		return fmt.Errorf("%d publish(es) failed; first: %w", a.errs.Load(), a.firstErr)
	}
	return nil
}

// franzOpts: franz-go already defaults to acks=all and idempotent writes.
func franzOpts(cf commonFlags) []kgo.Opt {
	opts := []kgo.Opt{
		kgo.SeedBrokers(splitList(*cf.brokers)...),
		kgo.DefaultProduceTopic(*cf.topic),
		kgo.RequiredAcks(kgo.AllISRAcks()),
	}
	if cf.like() {
		opts = append(opts,
			kgo.ProducerLinger(likeLinger),
			kgo.ProducerBatchCompression(kgo.SnappyCompression()),
			kgo.ProducerBatchMaxBytes(likeBatchBytes),
			// nil hasher = Kafka's murmur2, so keys land where Java's (and
			// librdkafka's murmur2_random) put them.
			kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)),
			kgo.MaxBufferedRecords(likeMaxInFlight),
		)
	}
	return opts
}

func publishFranz(ctx context.Context, cf commonFlags, value []byte, keys [][]byte, a *acks) (time.Time, error) {
	cl, err := kgo.NewClient(franzOpts(cf)...)
	if err != nil {
		return time.Time{}, fmt.Errorf("franz-go client: %w", err)
	}
	defer cl.Close()
	promise := func(_ *kgo.Record, err error) { a.ack(err) }
	// franz-go connects lazily: the first send also loads metadata and the
	// producer id, which sarama does in NewAsyncProducer before the clock.
	start := time.Now()
	for i := 0; i < *cf.messages; i++ {
		// A Record per send: the client writes partition, offset and time into it.
		// Produce blocks while MaxBufferedRecords are unacknowledged.
		cl.Produce(ctx, &kgo.Record{Key: keys[i%len(keys)], Value: value}, promise)
	}
	if err := cl.Flush(ctx); err != nil {
		return start, fmt.Errorf("flush: %w", err)
	}
	<-a.done // Flush returns once every promise has run
	return start, nil
}

// saramaConfig is sarama's default config plus acks=all and idempotence,
// with what sarama's validation requires for idempotence.
func saramaConfig(like bool) *sarama.Config {
	cfg := sarama.NewConfig()
	// DefaultVersion (2.8) is already >= 0.11, which idempotence needs, and
	// speaks to Kafka 4.x; left as is for both settings.
	cfg.Producer.RequiredAcks = sarama.WaitForAll
	cfg.Producer.Idempotent = true
	cfg.Net.MaxOpenRequests = 1 // idempotence refuses more (librdkafka allows 5)
	cfg.Producer.Retry.Max = 3  // the default; idempotence only requires >= 1
	cfg.Producer.Return.Successes = true
	cfg.Producer.Return.Errors = true
	if like {
		cfg.Producer.Flush.Frequency = likeLinger
		cfg.Producer.Compression = sarama.CompressionSnappy
		// Flush.Bytes only triggers a send, and counts every partition of a
		// broker's request together. The per-partition batch cap (librdkafka's
		// batch.size, franz-go's ProducerBatchMaxBytes) is MaxMessageBytes:
		// produceSet.wouldOverflow flushes first when a partition's batch
		// (uncompressed record bytes) would reach it. It also rejects any
		// single record above it, which our ~0.5 KB envelopes never are.
		cfg.Producer.MaxMessageBytes = likeBatchBytes
	}
	return cfg
}

func publishSarama(ctx context.Context, cf commonFlags, value []byte, keys [][]byte, a *acks) (time.Time, error) {
	p, err := sarama.NewAsyncProducer(splitList(*cf.brokers), saramaConfig(cf.like()))
	if err != nil {
		return time.Time{}, fmt.Errorf("sarama producer: %w", err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for range p.Successes() {
			a.ack(nil)
		}
	}()
	go func() {
		defer wg.Done()
		for pe := range p.Errors() {
			a.ack(pe.Err)
		}
	}()
	// The channels (ChannelBufferSize 256 each stage) bound what is in flight.
	start := time.Now()
	var sendErr error
	for i := 0; i < *cf.messages && sendErr == nil; i++ {
		msg := &sarama.ProducerMessage{Topic: *cf.topic, Key: sarama.ByteEncoder(keys[i%len(keys)]), Value: sarama.ByteEncoder(value)}
		select {
		case p.Input() <- msg:
		case <-ctx.Done():
			sendErr = fmt.Errorf("sent %d of %d: %w", i, *cf.messages, ctx.Err())
		}
	}
	if sendErr == nil {
		select {
		case <-a.done:
		case <-ctx.Done():
			sendErr = fmt.Errorf("%d of %d acknowledged: %w", a.ok.Load()+a.errs.Load(), *cf.messages, ctx.Err())
		}
	}
	p.AsyncClose()
	wg.Wait()
	return start, sendErr
}
