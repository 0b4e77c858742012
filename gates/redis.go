package gates

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/strictcycle/strictcycle/config"
)

// goRedis implements RedisClient with go-redis.
type goRedis struct{ c *redis.Client }

// NewRedisClient adapts a go-redis client to the RedisClient interface.
func NewRedisClient(c *redis.Client) RedisClient { return goRedis{c: c} }

func (g goRedis) Ping(ctx context.Context) error {
	if err := g.c.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("ping redis: %w", err)
	}
	return nil
}

// NewestEntryTime reads XREVRANGE stream + - COUNT 1 and takes the entry id's
// milliseconds.
func (g goRedis) NewestEntryTime(ctx context.Context, stream string) (time.Time, bool, error) {
	msgs, err := g.c.XRevRangeN(ctx, stream, "+", "-", 1).Result()
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read newest entry of stream %q: %w", stream, err)
	}
	if len(msgs) == 0 {
		return time.Time{}, false, nil
	}
	t, err := streamIDTime(msgs[0].ID)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("read newest entry of stream %q: %w", stream, err)
	}
	return t, true, nil
}

func streamIDTime(id string) (time.Time, error) {
	msPart, _, _ := strings.Cut(id, "-")
	ms, err := strconv.ParseInt(msPart, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse stream id %q: %w", id, err)
	}
	return time.UnixMilli(ms).UTC(), nil
}

// GroupLag reads XINFO GROUPS; when Redis cannot tell the lag (nil, -1 in
// go-redis) it is computed as entries-added minus the group's entries-read.
func (g goRedis) GroupLag(ctx context.Context, stream, group string) (int64, error) {
	groups, err := g.c.XInfoGroups(ctx, stream).Result()
	if err != nil && strings.Contains(err.Error(), "no such key") {
		// An absent stream has no group either: missing, not an error.
		return 0, fmt.Errorf("read groups of stream %q: stream absent: %w", stream, errNoGroup)
	}
	if err != nil {
		return 0, fmt.Errorf("read groups of stream %q: %w", stream, err)
	}
	for _, gr := range groups {
		if gr.Name != group {
			continue
		}
		if gr.Lag >= 0 {
			return gr.Lag, nil
		}
		info, err := g.c.XInfoStream(ctx, stream).Result()
		if err != nil {
			return 0, fmt.Errorf("read stream %q: %w", stream, err)
		}
		return max(info.EntriesAdded-gr.EntriesRead, 0), nil
	}
	return 0, fmt.Errorf("read groups of stream %q: %w", stream, errNoGroup)
}

var errNoGroup = errors.New("no such consumer group")

func redisTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, 5*time.Second)
}

func checkRedisPing(ctx context.Context, env *evalEnv, ck *config.Check) Result {
	if env.redis == nil {
		return Result{Verdict: VerdictError, Reason: failText(ck) + ": no redis client configured"}
	}
	cctx, cancel := redisTimeout(ctx)
	defer cancel()
	if err := env.redis.Ping(cctx); err != nil {
		return Result{Verdict: VerdictError, Reason: fmt.Sprintf("%s: %v", failText(ck), err)}
	}
	return Result{Verdict: VerdictPass, Reason: passText(ck)}
}

func checkRedisStreamFresh(ctx context.Context, env *evalEnv, ck *config.Check) Result {
	spec := ck.Redis
	if env.redis == nil {
		return Result{Verdict: VerdictError, Reason: failText(ck) + ": no redis client configured"}
	}
	cctx, cancel := redisTimeout(ctx)
	defer cancel()
	t, ok, err := env.redis.NewestEntryTime(cctx, spec.Stream)
	if err != nil {
		return Result{Verdict: VerdictError, Reason: fmt.Sprintf("%s: %v", failText(ck), err)}
	}
	if !ok {
		return Result{Verdict: VerdictMissing, Reason: fmt.Sprintf("%s: stream %s is empty or absent", failText(ck), spec.Stream)}
	}
	maxAge := spec.MaxAge
	if maxAge <= 0 {
		maxAge = env.window
	}
	age, detail := env.freshness(tsInfo{t: t, source: "stream_id"}, maxAge)
	r := Result{TSSource: "stream_id", ReportTime: &t, AgeMinutes: &age}
	if detail != "" {
		r.Verdict, r.Reason = VerdictStale, fmt.Sprintf("%s: stream %s stale: %s", failText(ck), spec.Stream, detail)
		return r
	}
	r.Verdict, r.Reason = VerdictPass, passText(ck)
	return r
}

func checkRedisGroupLag(ctx context.Context, env *evalEnv, ck *config.Check) Result {
	spec := ck.Redis
	if env.redis == nil {
		return Result{Verdict: VerdictError, Reason: failText(ck) + ": no redis client configured"}
	}
	cctx, cancel := redisTimeout(ctx)
	defer cancel()
	lag, err := env.redis.GroupLag(cctx, spec.Stream, spec.Group)
	if errors.Is(err, errNoGroup) {
		return Result{Verdict: VerdictMissing, Reason: fmt.Sprintf("%s: group %s missing on stream %s", failText(ck), spec.Group, spec.Stream)}
	}
	if err != nil {
		return Result{Verdict: VerdictError, Reason: fmt.Sprintf("%s: %v", failText(ck), err)}
	}
	if lag > spec.MaxLag {
		return Result{Verdict: VerdictFail, Reason: fmt.Sprintf("%s: group %s lag %d > %d on stream %s", failText(ck), spec.Group, lag, spec.MaxLag, spec.Stream)}
	}
	return Result{Verdict: VerdictPass, Reason: passText(ck)}
}
