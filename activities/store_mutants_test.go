package activities

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// With Redis unreachable, no store call reports a lock taken or released,
// a restart claimed or a budget counted: each is an error and a false.
func TestRestartStoreRedisDownClaimsNothing(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: time.Second})
	t.Cleanup(func() { rdb.Close() })
	s := NewRedisStore(rdb, "sctest-down")
	ctx := context.Background()

	got, err := s.SetNX(ctx, "lock", "me", time.Minute)
	require.ErrorContains(t, err, `redis set nx "sctest-down:lock"`)
	require.False(t, got, "no lock is taken when Redis is down")

	deleted, err := s.CompareAndDelete(ctx, "lock", "me")
	require.ErrorContains(t, err, `redis compare-and-delete "sctest-down:lock"`)
	require.False(t, deleted)

	_, err = s.BudgetUsed(ctx, "budget", time.Now(), time.Hour)
	require.ErrorContains(t, err, `redis count budget "sctest-down:budget"`)

	claim, err := s.ClaimRestart(ctx, RestartClaim{LockKey: "lock", MarkKey: "mark", BudgetKey: "budget", Owner: "o|", Holder: "o|h",
		LockTTL: time.Minute, MarkTTL: time.Minute, Window: time.Hour, Max: 3, Member: "m", Intent: "{}", At: time.Now()})
	require.ErrorContains(t, err, `redis claim restart "sctest-down:lock"`)
	require.Nil(t, claim)

	require.ErrorContains(t, s.FinishRestart(ctx, "lock", "mark", "o|h", "{}", time.Minute), `redis finish restart "sctest-down:mark"`)
	require.ErrorContains(t, s.AbortRestart(ctx, "lock", "mark", "budget", "o|h", "{}", "m"), `redis abort restart "sctest-down:mark"`)
}

// SetNX takes a free key once, with its ttl, and never a held one.
func TestRestartStoreSetNX(t *testing.T) {
	s, rdb, prefix := testStore(t)
	ctx := context.Background()
	got, err := s.SetNX(ctx, "lock", "a", 90*time.Second)
	require.NoError(t, err)
	require.True(t, got)
	got, err = s.SetNX(ctx, "lock", "b", time.Minute)
	require.NoError(t, err)
	require.False(t, got)
	v, ok, err := s.Get(ctx, "lock")
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, "a", v)
	ttl := rdb.PTTL(ctx, prefix+":lock").Val()
	require.Greater(t, ttl, time.Minute)
	require.LessOrEqual(t, ttl, 90*time.Second)
}

// A publication whose transition or latest object is not a JSON object is
// refused before Redis is touched.
func TestPublishOnceRefusesNonObjects(t *testing.T) {
	s, rdb, prefix := testStore(t, "sctest.publish-once.refused")
	ctx := context.Background()
	for name, p := range map[string]Publication{
		"transition": {LatestKey: "prod:latest", Stream: "sctest.publish-once.refused", RunID: "r", Status: "PASS", Payload: "{}", Transition: "", Latest: `{"a":1}`},
		"latest":     {LatestKey: "prod:latest", Stream: "sctest.publish-once.refused", RunID: "r", Status: "PASS", Payload: "{}", Transition: `{"a":1}`, Latest: "[1]"},
	} {
		_, err := s.PublishOnce(ctx, p)
		require.Error(t, err, name)
		require.Zero(t, rdb.Exists(ctx, prefix+":prod:latest", "sctest.publish-once.refused").Val(), name)
	}
}

// A claim that takes over a lock this run left names the holder it
// replaced.
func TestRestartClaimNamesTheLockTakenOver(t *testing.T) {
	s, _, _ := testStore(t)
	ctx := context.Background()
	old := "cycle/test/run-1/svc|round-1/attempt-1/1"
	ok, err := s.SetNX(ctx, "lock", old, time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	claim, err := s.ClaimRestart(ctx, RestartClaim{LockKey: "lock", MarkKey: "mark", BudgetKey: "budget",
		Owner: "cycle/test/run-1/svc|", Holder: "cycle/test/run-1/svc|round-2/attempt-1/2",
		LockTTL: time.Minute, MarkTTL: time.Minute, Window: time.Hour, Max: 3, Member: "m", Intent: "{}", At: time.Now()})
	require.NoError(t, err)
	require.Equal(t, ClaimTaken, claim.Outcome)
	require.Equal(t, old, claim.TookOver)
}
