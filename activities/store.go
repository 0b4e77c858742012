package activities

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

	// BudgetUsed counts the entries of key within window before at.
	BudgetUsed(ctx context.Context, key string, at time.Time, window time.Duration) (int, error)

	// ClaimRestart takes the restart lock, reserves the budget and writes
	// the intent mark in one atomic step (see RestartClaim).
	ClaimRestart(ctx context.Context, c RestartClaim) (*RestartClaimResult, error)
	// FinishRestart replaces the mark with done and releases the lock while
	// holder holds it, in one atomic step.
	FinishRestart(ctx context.Context, lockKey, markKey, holder, done string, markTTL time.Duration) error
	// AbortRestart undoes a claim whose restart did not happen: the mark
	// while it still holds intent, the budget member, and the lock while
	// holder holds it, in one atomic step.
	AbortRestart(ctx context.Context, lockKey, markKey, budgetKey, holder, intent, member string) error

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

// BudgetUsed implements Store.
func (s *RedisStore) BudgetUsed(ctx context.Context, key string, at time.Time, window time.Duration) (int, error) {
	n, err := s.rdb.ZCount(ctx, s.key(key), fmt.Sprint(at.Add(-window).UnixMilli()), "+inf").Result()
	if err != nil {
		return 0, fmt.Errorf("redis count budget %q: %w", s.key(key), err)
	}
	return int(n), nil
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

// Claim outcomes of ClaimRestart.
const (
	ClaimTaken  = "claimed" // lock, budget entry and intent mark are this attempt's
	ClaimMarked = "marked"  // the mark exists: this (run, service, round) was attempted
	ClaimHeld   = "held"    // another owner holds the lock
	ClaimBudget = "budget"  // the budget is exhausted
)

// RestartClaim is one attempt to restart a service in one round.
//
// The lock's value is Holder, which starts with Owner: the cycle run and the
// service. A lock whose value starts with Owner was left by this run (an
// attempt killed before it could release it): the claim takes it over
// instead of reading it as another cycle's restart. When the mark already
// exists the claim changes nothing but releases such a lock, so a retry of
// a killed attempt never leaves the lock behind.
type RestartClaim struct {
	LockKey, MarkKey, BudgetKey string
	Owner, Holder               string
	LockTTL                     time.Duration
	// Intent is the mark written with the lock; MarkTTL its ttl.
	Intent  string
	MarkTTL time.Duration
	// At, Window and Max are the budget's; Member names this restart in it.
	At     time.Time
	Window time.Duration
	Max    int
	Member string
}

// RestartClaimResult is what ClaimRestart found or did.
type RestartClaimResult struct {
	Outcome string
	// Mark is the existing mark (ClaimMarked); Holder the lock's other
	// holder (ClaimHeld); TookOver the own run's lock replaced (ClaimTaken).
	Mark, Holder, TookOver string
	// BudgetUsed counts the budget's entries in the window (ClaimTaken,
	// ClaimBudget).
	BudgetUsed int
}

// claimRestart: KEYS lock, mark, budget; ARGV owner, holder, lock ttl ms,
// intent, mark ttl ms, now ms, window ms, max, member. Budget scores are
// unix ms.
var claimRestart = redis.NewScript(`
local lock = redis.call('GET', KEYS[1])
local own = false
if lock then own = string.sub(lock, 1, #ARGV[1]) == ARGV[1] end
local mark = redis.call('GET', KEYS[2])
if mark then
  if own then redis.call('DEL', KEYS[1]) end
  return {'marked', mark, 0}
end
if lock and not own then
  return {'held', lock, 0}
end
local now = tonumber(ARGV[6])
local window = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', '(' .. (now - window))
local used
if redis.call('ZSCORE', KEYS[3], ARGV[9]) then
  used = redis.call('ZCARD', KEYS[3])
else
  local n = redis.call('ZCARD', KEYS[3])
  if n >= tonumber(ARGV[8]) then
    if own then redis.call('DEL', KEYS[1]) end
    return {'budget', '', n}
  end
  redis.call('ZADD', KEYS[3], now, ARGV[9])
  redis.call('PEXPIRE', KEYS[3], window)
  used = n + 1
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[5])
local took = ''
if own then took = lock end
return {'claimed', took, used}`)

// ClaimRestart implements Store.
func (s *RedisStore) ClaimRestart(ctx context.Context, c RestartClaim) (*RestartClaimResult, error) {
	// PX and PEXPIRE take whole milliseconds: a shorter ttl or window would
	// be 0, which Redis refuses (or would never expire).
	if c.Owner == "" || !strings.HasPrefix(c.Holder, c.Owner) || c.LockTTL < time.Millisecond || c.MarkTTL < time.Millisecond || c.Window < time.Millisecond {
		return nil, fmt.Errorf("redis claim restart %q: owner, holder with the owner's prefix, and ttls and window of at least 1ms are required", s.key(c.LockKey))
	}
	v, err := claimRestart.Run(ctx, s.rdb,
		[]string{s.key(c.LockKey), s.key(c.MarkKey), s.key(c.BudgetKey)},
		c.Owner, c.Holder, c.LockTTL.Milliseconds(), c.Intent, c.MarkTTL.Milliseconds(),
		c.At.UnixMilli(), c.Window.Milliseconds(), c.Max, c.Member).Slice()
	if err != nil {
		return nil, fmt.Errorf("redis claim restart %q: %w", s.key(c.LockKey), err)
	}
	if len(v) != 3 {
		return nil, fmt.Errorf("redis claim restart %q: unexpected reply %v", s.key(c.LockKey), v)
	}
	outcome, _ := v[0].(string)
	text, _ := v[1].(string)
	n, _ := v[2].(int64)
	res := &RestartClaimResult{Outcome: outcome, BudgetUsed: int(n)}
	switch outcome {
	case ClaimMarked:
		res.Mark = text
	case ClaimHeld:
		res.Holder = text
	case ClaimTaken:
		res.TookOver = text
	case ClaimBudget:
	default:
		return nil, fmt.Errorf("redis claim restart %q: unexpected outcome %q", s.key(c.LockKey), outcome)
	}
	return res, nil
}

// finishRestart: KEYS lock, mark; ARGV holder, done mark, mark ttl ms.
var finishRestart = redis.NewScript(`
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1`)

// FinishRestart implements Store.
func (s *RedisStore) FinishRestart(ctx context.Context, lockKey, markKey, holder, done string, markTTL time.Duration) error {
	if err := finishRestart.Run(ctx, s.rdb, []string{s.key(lockKey), s.key(markKey)}, holder, done, markTTL.Milliseconds()).Err(); err != nil {
		return fmt.Errorf("redis finish restart %q: %w", s.key(markKey), err)
	}
	return nil
}

// abortRestart: KEYS lock, mark, budget; ARGV holder, intent, member.
var abortRestart = redis.NewScript(`
if redis.call('GET', KEYS[2]) == ARGV[2] then
  redis.call('DEL', KEYS[2])
  redis.call('ZREM', KEYS[3], ARGV[3])
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return 1`)

// AbortRestart implements Store.
func (s *RedisStore) AbortRestart(ctx context.Context, lockKey, markKey, budgetKey, holder, intent, member string) error {
	if err := abortRestart.Run(ctx, s.rdb, []string{s.key(lockKey), s.key(markKey), s.key(budgetKey)}, holder, intent, member).Err(); err != nil {
		return fmt.Errorf("redis abort restart %q: %w", s.key(markKey), err)
	}
	return nil
}
