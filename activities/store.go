package activities

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Store is the Redis surface the activities use: restart marks, locks,
// budgets and the decision. Keys are logical (without prefix); streams are
// global names (hbot convention, e.g. hb.promotion_gate.v1).
type Store interface {
	// Get returns the value of key; ok is false when the key is absent.
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	// SetNX sets key to value with a ttl when key is absent (SET NX PX).
	SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error)
	// Set sets key to value with a ttl (0: no expiry).
	Set(ctx context.Context, key, value string, ttl time.Duration) error
	// CompareAndDelete deletes key only while it holds value (lock release).
	CompareAndDelete(ctx context.Context, key, value string) (bool, error)

	// ReserveBudget drops entries of the sorted set key older than window
	// before at, then adds member at at when fewer than max remain. A member
	// already present counts as reserved (a retry). used counts the entries
	// in the window after the call.
	ReserveBudget(ctx context.Context, key, member string, at time.Time, window time.Duration, max int) (used int, ok bool, err error)
	// BudgetUsed counts the entries of key within window before at.
	BudgetUsed(ctx context.Context, key string, at time.Time, window time.Duration) (int, error)
	// ReleaseBudget removes member (a restart that did not happen).
	ReleaseBudget(ctx context.Context, key, member string) error

	// PublishOnce appends a decision to its stream, a transition record when
	// the status changed, and replaces the latest key, atomically; when the
	// latest key already holds p.RunID it changes nothing and returns what
	// the first call stored.
	PublishOnce(ctx context.Context, p Publication) (*PublishDecisionResult, error)
}

// Publication is one decision to publish.
type Publication struct {
	LatestKey        string
	Stream           string
	TransitionStream string
	MaxLen           int64
	RunID            string
	Status           string
	// Payload is the decision JSON (the stream entry's payload field).
	Payload string
	// Transition and Latest are JSON objects the store completes with
	// from_status, and with stream_id, previous_status and transitioned.
	Transition string
	Latest     string
}

// RedisStore is the Store on a go-redis client. Every key gets the prefix.
type RedisStore struct {
	rdb    *redis.Client
	prefix string
}

// NewRedisStore returns a Store whose keys are "<prefix>:<key>" (prefix
// defaults to DefaultKeyPrefix).
func NewRedisStore(rdb *redis.Client, prefix string) *RedisStore {
	if prefix == "" {
		prefix = DefaultKeyPrefix
	}
	return &RedisStore{rdb: rdb, prefix: prefix}
}

func (s *RedisStore) key(k string) string { return s.prefix + ":" + k }

// Get implements Store.
func (s *RedisStore) Get(ctx context.Context, key string) (string, bool, error) {
	v, err := s.rdb.Get(ctx, s.key(key)).Result()
	if errors.Is(err, redis.Nil) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("redis get %q: %w", s.key(key), err)
	}
	return v, true, nil
}

// SetNX implements Store.
func (s *RedisStore) SetNX(ctx context.Context, key, value string, ttl time.Duration) (bool, error) {
	// SET key value NX PX ttl: PX keeps sub-second lock ttls exact.
	err := s.rdb.SetArgs(ctx, s.key(key), value, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("redis set nx %q: %w", s.key(key), err)
	}
	return true, nil
}

// Set implements Store.
func (s *RedisStore) Set(ctx context.Context, key, value string, ttl time.Duration) error {
	if err := s.rdb.Set(ctx, s.key(key), value, ttl).Err(); err != nil {
		return fmt.Errorf("redis set %q: %w", s.key(key), err)
	}
	return nil
}

var compareAndDelete = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`)

// CompareAndDelete implements Store.
func (s *RedisStore) CompareAndDelete(ctx context.Context, key, value string) (bool, error) {
	n, err := compareAndDelete.Run(ctx, s.rdb, []string{s.key(key)}, value).Int()
	if err != nil {
		return false, fmt.Errorf("redis compare-and-delete %q: %w", s.key(key), err)
	}
	return n == 1, nil
}

// reserveBudget is the budget's check-and-add; scores are unix ms.
var reserveBudget = redis.NewScript(`
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (now - window))
if redis.call('ZSCORE', KEYS[1], ARGV[4]) then
  return {redis.call('ZCARD', KEYS[1]), 1}
end
local n = redis.call('ZCARD', KEYS[1])
if n >= max then
  return {n, 0}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {n + 1, 1}`)

// ReserveBudget implements Store.
func (s *RedisStore) ReserveBudget(ctx context.Context, key, member string, at time.Time, window time.Duration, max int) (int, bool, error) {
	res, err := reserveBudget.Run(ctx, s.rdb, []string{s.key(key)},
		at.UnixMilli(), window.Milliseconds(), max, member).Int64Slice()
	if err != nil {
		return 0, false, fmt.Errorf("redis reserve budget %q: %w", s.key(key), err)
	}
	if len(res) != 2 {
		return 0, false, fmt.Errorf("redis reserve budget %q: unexpected reply %v", s.key(key), res)
	}
	return int(res[0]), res[1] == 1, nil
}

// BudgetUsed implements Store.
func (s *RedisStore) BudgetUsed(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.key(key), fmt.Sprint(at.Add(-window).UnixMilli()), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redis count budget %q: %w", s.key(key), err)
	}
	return int(n), nil
}

// ReleaseBudget implements Store.
func (s *RedisStore) ReleaseBudget(ctx context.Context, key, member string) error {
	if err := s.rdb.ZRem(ctx, s.key(key), member).Err(); err != nil {
		return fmt.Errorf("redis release budget %q: %w", s.key(key), err)
	}
	return nil
}

// publishOnce runs in one script so that a retried publication either finds
// the run id in the latest key or appends everything exactly once.
// KEYS: latest, stream, transitions. ARGV: run id, status, payload, maxlen,
// transition object, latest object.
var publishOnce = redis.NewScript(`
local prev = ''
local cur = redis.call('GET', KEYS[1])
if cur then
  local ok, d = pcall(cjson.decode, cur)
  if ok and type(d) == 'table' then
    if d.run_id == ARGV[1] then
      local sid = d.stream_id
      if type(sid) ~= 'string' then sid = '' end
      local ps = d.previous_status
      if type(ps) ~= 'string' then ps = '' end
      local tr = '0'
      if d.transitioned == true then tr = '1' end
      return {'dup', sid, ps, tr}
    end
    if type(d.status) == 'string' then prev = d.status end
  end
end
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[4], '*', 'payload', ARGV[3])
local transitioned = prev ~= ARGV[2]
if transitioned then
  local from = prev
  if from == '' then from = 'UNKNOWN' end
  local t = '{"from_status":' .. cjson.encode(from) .. ',' .. string.sub(ARGV[5], 2)
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'payload', t)
end
local tr = '0'
if transitioned then tr = '1' end
local l = '{"stream_id":' .. cjson.encode(id) .. ',"previous_status":' .. cjson.encode(prev) ..
  ',"transitioned":' .. tostring(transitioned) .. ',' .. string.sub(ARGV[6], 2)
redis.call('SET', KEYS[1], l)
return {'new', id, prev, tr}`)

// PublishOnce implements Store.
func (s *RedisStore) PublishOnce(ctx context.Context, p Publication) (*PublishDecisionResult, error) {
	if len(p.Transition) < 3 || p.Transition[0] != '{' || len(p.Latest) < 3 || p.Latest[0] != '{' {
		return nil, fmt.Errorf("publish decision to %q: transition and latest must be non-empty JSON objects", p.Stream)
	}
	res, err := publishOnce.Run(ctx, s.rdb,
		[]string{s.key(p.LatestKey), p.Stream, p.TransitionStream},
		p.RunID, p.Status, p.Payload, p.MaxLen, p.Transition, p.Latest).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("publish decision to %q: %w", p.Stream, err)
	}
	if len(res) != 4 {
		return nil, fmt.Errorf("publish decision to %q: unexpected reply %q", p.Stream, res)
	}
	return &PublishDecisionResult{StreamID: res[1], PreviousStatus: res[2], Transitioned: res[3] == "1"}, nil
}
