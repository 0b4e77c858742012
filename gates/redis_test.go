package gates

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/strictcycle/strictcycle/config"
)

// testRedis connects to the real redis-server (REDIS_URL overrides
// 127.0.0.1:6379) and returns a unique key prefix.
func testRedis(t *testing.T) (*redis.Client, string) {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		url = "redis://127.0.0.1:6379/0"
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	require.NoError(t, c.Ping(t.Context()).Err(), "redis-server must be running")
	var b [6]byte
	_, _ = rand.Read(b[:])
	prefix := "strictcycle-test:" + t.Name() + ":" + hex.EncodeToString(b[:]) + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return c, prefix
}

func TestRedisKinds(t *testing.T) {
	c, prefix := testRedis(t)
	ctx := t.Context()
	stream := prefix + "stream"
	// Entries with explicit ids: the newest is 5 minutes before the clock.
	newest := fixedNow.Add(-5 * time.Minute)
	for i, ts := range []time.Time{fixedNow.Add(-time.Hour), newest} {
		_, err := c.XAdd(ctx, &redis.XAddArgs{Stream: stream, ID: idAt(ts, i), Values: map[string]any{"n": i}}).Result()
		require.NoError(t, err)
	}
	require.NoError(t, c.XGroupCreate(ctx, stream, "g", "0").Err())
	// The group read one of two entries: lag 1.
	_, err := c.XReadGroup(ctx, &redis.XReadGroupArgs{Group: "g", Consumer: "c1", Streams: []string{stream, ">"}, Count: 1}).Result()
	require.NoError(t, err)
	client := NewRedisClient(c)

	tests := []struct {
		name   string
		ck     config.Check
		v      Verdict
		reason string
	}{
		{"ping", config.Check{Name: "p", Kind: config.KindRedisPing}, VerdictPass, "ok"},
		{"stream fresh", config.Check{Name: "s", Kind: config.KindRedisStreamFresh, Redis: &config.RedisSpec{Stream: stream}}, VerdictPass, "ok"},
		{"stream stale", config.Check{Name: "s", Kind: config.KindRedisStreamFresh, Redis: &config.RedisSpec{Stream: stream, MaxAge: time.Minute}},
			VerdictStale, "bad: stream " + stream + " stale: age 5.0m > 1m (stream_id 2026-02-26T01:55:00Z)"},
		{"stream absent", config.Check{Name: "s", Kind: config.KindRedisStreamFresh, Redis: &config.RedisSpec{Stream: prefix + "none"}},
			VerdictMissing, "bad: stream " + prefix + "none is empty or absent"},
		{"lag within", config.Check{Name: "l", Kind: config.KindRedisGroupLag, Redis: &config.RedisSpec{Stream: stream, Group: "g", MaxLag: 1}}, VerdictPass, "ok"},
		{"lag over", config.Check{Name: "l", Kind: config.KindRedisGroupLag, Redis: &config.RedisSpec{Stream: stream, Group: "g", MaxLag: 0}},
			VerdictFail, "bad: group g lag 1 > 0 on stream " + stream},
		{"group missing", config.Check{Name: "l", Kind: config.KindRedisGroupLag, Redis: &config.RedisSpec{Stream: stream, Group: "nope"}},
			VerdictMissing, "bad: group nope missing on stream " + stream},
		{"stream of the group absent", config.Check{Name: "l", Kind: config.KindRedisGroupLag, Redis: &config.RedisSpec{Stream: prefix + "none", Group: "g"}},
			VerdictMissing, "bad: group g missing on stream " + prefix + "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runOne(t, t.TempDir(), tt.ck, func(o *Options) { o.Redis = client })
			assert.Equal(t, tt.v, r.Verdict)
			assert.Equal(t, tt.reason, r.Text())
		})
	}

	t.Run("no client is an error", func(t *testing.T) {
		r := runOne(t, t.TempDir(), config.Check{Name: "p", Kind: config.KindRedisPing})
		assert.Equal(t, VerdictError, r.Verdict)
		assert.Equal(t, "bad: no redis client configured", r.Text())
	})
	t.Run("newest entry time", func(t *testing.T) {
		got, ok, err := client.NewestEntryTime(ctx, stream)
		require.NoError(t, err)
		assert.True(t, ok)
		assert.True(t, newest.Equal(got))
	})
}

func idAt(t time.Time, seq int) string {
	return strconv.FormatInt(t.UnixMilli(), 10) + "-" + strconv.Itoa(seq)
}
