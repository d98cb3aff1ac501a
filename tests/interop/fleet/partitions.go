package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
)

// partitionFunc returns the partition the Go client picks for key among n.
type partitionFunc func(key []byte, n int32) (int32, error)

// newPartitioner uses each client's own public partitioner rather than a
// re-implementation, so the answer is the client's by construction.
func newPartitioner(hasher string) (partitionFunc, error) {
	switch hasher {
	case "sarama":
		// sarama's default producer partitioner: FNV-1a 32, signed modulo,
		// then negated if negative (not Java's mask).
		p := sarama.NewHashPartitioner("t")
		return func(key []byte, n int32) (int32, error) {
			return p.Partition(&sarama.ProducerMessage{Topic: "t", Key: sarama.ByteEncoder(key)}, n)
		}, nil
	case "murmur2":
		// Kafka's Java default: murmur2, high bit masked, modulo.
		p := kgo.StickyKeyPartitioner(nil).ForTopic("t")
		return func(key []byte, n int32) (int32, error) {
			return int32(p.Partition(&kgo.Record{Topic: "t", Key: key}, int(n))), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: -hasher must be sarama or murmur2, got %q", errUsage, hasher)
}

// readKeys reads one standard padded base64 key per line. A blank line is
// the empty key; it is kept non-nil because both clients treat a nil key as
// "no key" (random/sticky partition), not as the empty byte string.
func readKeys(path string) ([][]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var keys [][]byte
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		key, err := base64.StdEncoding.Strict().DecodeString(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not standard padded base64: %v", path, line, err)
		}
		if key == nil {
			key = []byte{}
		}
		keys = append(keys, key)
	}
	return keys, sc.Err()
}

func parseCounts(s string) ([]int32, error) {
	var counts []int32
	for _, item := range splitList(s) {
		n, err := strconv.ParseInt(item, 10, 32)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%w: -partitions: %q is not a positive partition count", errUsage, item)
		}
		counts = append(counts, int32(n))
	}
	if len(counts) == 0 {
		return nil, fmt.Errorf("%w: -partitions: no counts given", errUsage)
	}
	return counts, nil
}

func runPartitions(fs *flag.FlagSet, args []string) error {
	keysPath := fs.String("keys", "", "`FILE` with one base64 key per line")
	countsFlag := fs.String("partitions", "", "comma-separated partition `counts`")
	hasher := fs.String("hasher", "", "`sarama` (sarama.NewHashPartitioner) or murmur2 (kgo.StickyKeyPartitioner)")
	outPath := fs.String("out", "", "output `FILE`: base64 key, then one partition per count, tab-separated")
	if err := parseFlags(fs, args, "keys", "partitions", "hasher", "out"); err != nil {
		return err
	}
	partition, err := newPartitioner(*hasher)
	if err != nil {
		return err
	}
	counts, err := parseCounts(*countsFlag)
	if err != nil {
		return err
	}
	keys, err := readKeys(*keysPath)
	if err != nil {
		return err
	}
	out, err := createLines(*outPath)
	if err != nil {
		return err
	}
	var line []byte
	for _, key := range keys {
		line = append(line[:0], base64.StdEncoding.EncodeToString(key)...)
		for _, n := range counts {
			p, err := partition(key, n)
			if err != nil {
				out.Close()
				return fmt.Errorf("key %q, %d partitions: %v", key, n, err)
			}
			line = append(line, '\t')
			line = strconv.AppendInt(line, int64(p), 10)
		}
		out.Line(line)
	}
	if err := out.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "partitions: %d key(s) x %d count(s) with %s -> %s\n", len(keys), len(counts), *hasher, *outPath)
	return nil
}
