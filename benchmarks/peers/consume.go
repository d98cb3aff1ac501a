package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"

	// The wire types a Go txova service decodes into, shared with the interop tests.
	"txova.local/interop/wire"
)

// decode is the handler's work: the envelope, then its payload.
func decode(value []byte) bool {
	var env wire.Envelope
	if json.Unmarshal(value, &env) != nil {
		return false
	}
	var rc wire.RideCompleted
	return json.Unmarshal(env.Payload, &rc) == nil
}

// Our C++ consumer's fetch.wait.max.ms in txova-bench.
const likeFetchWait = 10 * time.Millisecond

// tally counts the first `want` records from any goroutine and notes the
// times of the first, the latest and the want-th.
type tally struct {
	want           int64
	seen, decoded  atomic.Int64
	first, last    atomic.Int64 // UnixNano
	end            atomic.Int64 // UnixNano of the want-th record
	firstBadOffset atomic.Int64 // 1 + offset of the first undecodable record
}

// record returns false once `want` records have been counted.
func (t *tally) record(value []byte, offset int64) bool {
	k := t.seen.Add(1)
	if k > t.want {
		return false
	}
	now := time.Now().UnixNano()
	if k == 1 {
		t.first.Store(now)
	}
	if decode(value) {
		t.decoded.Add(1)
	} else {
		t.firstBadOffset.CompareAndSwap(0, offset+1)
	}
	t.last.Store(time.Now().UnixNano())
	if k == t.want {
		t.end.Store(time.Now().UnixNano())
		return false
	}
	return true
}

func (t *tally) complete() bool { return t.end.Load() != 0 }

// idleSince is the latest record's time, or start before the first one.
func (t *tally) idleSince(start time.Time) time.Time {
	if l := t.last.Load(); l != 0 {
		return time.Unix(0, l)
	}
	return start
}

func runConsume(fs *flag.FlagSet, args []string) error {
	cf := addCommonFlags(fs)
	group := fs.String("group", "", "consumer `group` id (default: a fresh one per run)")
	idle := fs.Duration("idle", 20*time.Second, "fail after this `duration` without a new record")
	if err := parseFlags(fs, args, "client", "settings", "brokers", "topic", "messages"); err != nil {
		return err
	}
	if err := cf.check(); err != nil {
		return err
	}
	if *group == "" {
		// A fresh group has no committed offsets, so it reads from the start.
		*group = "txova-peers-" + *cf.client + "-" + *cf.settings + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	}
	t := &tally{want: int64(*cf.messages)}
	start := time.Now()
	var err error
	if *cf.client == clientFranz {
		err = consumeFranz(cf, *group, *idle, start, t)
	} else {
		err = consumeSarama(cf, *group, *idle, start, t)
	}
	if err == nil && !t.complete() {
		err = errors.New("stopped before the last record")
	}
	if err != nil {
		return fmt.Errorf("%d of %d record(s) read (%d decoded) from %s in group %s: %w",
			min(t.seen.Load(), t.want), t.want, t.decoded.Load(), *cf.topic, *group, err)
	}
	seconds := float64(t.end.Load()-t.first.Load()) / 1e9
	fmt.Printf("peer_consume_result client=%s settings=%s messages=%d decoded=%d seconds=%.3f msgs=%.0f\n",
		*cf.client, *cf.settings, *cf.messages, t.decoded.Load(), seconds, rate(*cf.messages, seconds))
	fmt.Fprintf(os.Stderr, "consume: group %s, first record %.3f s after start\n",
		*group, float64(t.first.Load()-start.UnixNano())/1e9)
	if bad := t.decoded.Load(); bad < t.want {
		return fmt.Errorf("%d record(s) did not decode; first at offset %d", t.want-bad, t.firstBadOffset.Load()-1)
	}
	return nil
}

func consumeFranz(cf commonFlags, group string, idle time.Duration, start time.Time, t *tally) error {
	opts := []kgo.Opt{
		kgo.SeedBrokers(splitList(*cf.brokers)...),
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(*cf.topic),
		// The default start offset already is the log start; the default
		// reset offset (a minute back) does not apply to a fresh group.
	}
	if cf.like() {
		opts = append(opts, kgo.FetchMaxWait(likeFetchWait))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return fmt.Errorf("franz-go client: %w", err)
	}
	defer cl.Close()
	// One goroutine polls and decodes, as a franz-go service's loop does.
	for !t.complete() {
		deadline := t.idleSince(start).Add(idle)
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		fetches := cl.PollFetches(ctx)
		cancel()
		if fetches.IsClientClosed() {
			return errors.New("client closed")
		}
		for it := fetches.RecordIter(); !it.Done(); {
			r := it.Next()
			if !t.record(r.Value, r.Offset) {
				break
			}
		}
		if t.complete() {
			break
		}
		fetches.EachError(func(topic string, p int32, err error) {
			if !errors.Is(err, context.DeadlineExceeded) {
				fmt.Fprintf(os.Stderr, "consume: fetch %s/%d: %v\n", topic, p, err)
			}
		})
		if time.Now().After(t.idleSince(start).Add(idle)) {
			return fmt.Errorf("no new record for %s", idle)
		}
	}
	return nil
}

// claims decodes in the goroutine sarama starts for each claimed partition.
type claims struct {
	t      *tally
	cancel context.CancelFunc
}

func (c *claims) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (c *claims) Cleanup(sarama.ConsumerGroupSession) error { return nil }

func (c *claims) ConsumeClaim(sess sarama.ConsumerGroupSession, claim sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-claim.Messages():
			if !ok {
				return nil
			}
			if !c.t.record(msg.Value, msg.Offset) {
				if c.t.complete() {
					c.cancel()
				}
				return nil
			}
			sess.MarkMessage(msg, "") // what a service does: commit what it handled
		case <-sess.Context().Done():
			return nil
		}
	}
}

func consumeSarama(cf commonFlags, group string, idle time.Duration, start time.Time, t *tally) error {
	cfg := sarama.NewConfig()
	// sarama's default for a group without offsets is the newest; the
	// benchmark reads what is already there.
	cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
	if cf.like() {
		cfg.Consumer.MaxWaitTime = likeFetchWait
	}
	cg, err := sarama.NewConsumerGroup(splitList(*cf.brokers), group, cfg)
	if err != nil {
		return fmt.Errorf("sarama consumer group: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var idleErr atomic.Value
	go func() { // the claims cannot see silence; a watchdog can
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if time.Now().After(t.idleSince(start).Add(idle)) {
					idleErr.Store(fmt.Errorf("no new record for %s", idle))
					cancel()
					return
				}
			}
		}
	}()

	h := &claims{t: t, cancel: cancel}
	// Consume returns at every rebalance; loop until done or idle.
	for ctx.Err() == nil {
		if err := cg.Consume(ctx, []string{*cf.topic}, h); err != nil && ctx.Err() == nil {
			if errors.Is(err, sarama.ErrClosedConsumerGroup) {
				break
			}
			fmt.Fprintf(os.Stderr, "consume: %v (retrying)\n", err)
			time.Sleep(500 * time.Millisecond)
		}
	}
	cancel()
	if err := cg.Close(); err != nil {
		fmt.Fprintf(os.Stderr, "consume: close: %v\n", err)
	}
	if e, _ := idleErr.Load().(error); e != nil && !t.complete() {
		return e
	}
	return nil
}
