package simstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// EventStoreGroup is the consumer group of the real event store.
const EventStoreGroup = "hb_event_store_v1"

// streamMaxLen bounds each simulated stream (XADD MAXLEN ~), like the
// STREAM_RETENTION_MAXLEN of the real stack but small.
const streamMaxLen = 10000

// bus plays both sides of the hb.* streams for the simulated event store:
// it publishes envelopes (as the bots, signal and risk services would) and
// consumes them in group hb_event_store_v1, so the group's lag stays near
// zero while event-store-service runs. Nothing publishes while it is
// stopped, so the streams' newest entries age instead (redis_stream_fresh).
type bus struct {
	rdb      *redis.Client
	grouped  bool
	sequence int64
}

func newBus(url string) (*bus, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("parse redis url: %w", err)
	}
	return &bus{rdb: redis.NewClient(opt)}, nil
}

func (b *bus) close() error { return b.rdb.Close() }

// publishAndIngest XADDs one batch of envelopes (one field, payload, a JSON
// string) and acknowledges everything pending for the event-store group.
func (b *bus) publishAndIngest(ctx context.Context, now time.Time) error {
	if !b.grouped {
		for _, s := range IntegrityStreams {
			err := b.rdb.XGroupCreateMkStream(ctx, s, EventStoreGroup, "0").Err()
			if err != nil && !strings.HasPrefix(err.Error(), "BUSYGROUP") {
				return fmt.Errorf("create group %s on %s: %w", EventStoreGroup, s, err)
			}
		}
		b.grouped = true
	}
	for _, s := range IntegrityStreams {
		for range eventsPerTick[s] {
			b.sequence++
			payload, err := json.Marshal(map[string]any{
				"schema_version": "1.0",
				"event_type":     strings.TrimSuffix(strings.TrimPrefix(s, "hb."), ".v1"),
				"event_id":       fmt.Sprintf("sim-%d-%d", now.UnixNano(), b.sequence),
				"correlation_id": fmt.Sprintf("sim-corr-%d", b.sequence),
				"producer":       "simstack",
				"instance_name":  "bot1",
				"timestamp_ms":   now.UnixMilli(),
				"ts_utc":         formatTS(now),
			})
			if err != nil {
				return fmt.Errorf("encode envelope: %w", err)
			}
			err = b.rdb.XAdd(ctx, &redis.XAddArgs{
				Stream: s, MaxLen: streamMaxLen, Approx: true,
				Values: map[string]any{"payload": string(payload)},
			}).Err()
			if err != nil {
				return fmt.Errorf("xadd %s: %w", s, err)
			}
		}
	}
	streams := make([]string, 0, 2*len(IntegrityStreams))
	streams = append(streams, IntegrityStreams...)
	for range IntegrityStreams {
		streams = append(streams, ">")
	}
	res, err := b.rdb.XReadGroup(ctx, &redis.XReadGroupArgs{
		Group: EventStoreGroup, Consumer: "event-store-sim", Streams: streams, Count: 1000, Block: -1,
	}).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("xreadgroup %s: %w", EventStoreGroup, err)
	}
	for _, st := range res {
		ids := make([]string, 0, len(st.Messages))
		for _, m := range st.Messages {
			ids = append(ids, m.ID)
		}
		if len(ids) == 0 {
			continue
		}
		if err := b.rdb.XAck(ctx, st.Stream, EventStoreGroup, ids...).Err(); err != nil {
			return fmt.Errorf("xack %s: %w", st.Stream, err)
		}
	}
	return nil
}
