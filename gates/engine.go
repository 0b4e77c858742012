package gates

import (
	"context"
	"errors"
	"time"

	"github.com/strictcycle/strictcycle/config"
)

// RedisClient is the narrow Redis surface the redis_* kinds use.
type RedisClient interface {
	Ping(ctx context.Context) error
	// NewestEntryTime is the time of the newest entry of a stream (from its
	// id); ok is false when the stream is empty or absent.
	NewestEntryTime(ctx context.Context, stream string) (t time.Time, ok bool, err error)
	// GroupLag is the consumer group's lag on a stream.
	GroupLag(ctx context.Context, stream, group string) (int64, error)
}

// Engine evaluates one contract. It is safe for concurrent Runs.
type Engine struct {
	contract *config.Contract
	opts     Options
}

// New validates the options and prepares (compiles) the contract's checks.
func New(c *config.Contract, opts Options) (*Engine, error) {
	return nil, errors.New("gates: not implemented")
}

// Run evaluates the contract (or the checks in ro.Only).
func (e *Engine) Run(ctx context.Context, ro RunOptions) (*Report, error) {
	return nil, errors.New("gates: not implemented")
}

// WatchPaths returns the root-relative files and glob patterns the named
// check reads, for a watcher to subscribe to their directories.
func (e *Engine) WatchPaths(check string) []string { return nil }

// Window is the freshness window in force (contract window or CI window).
func (e *Engine) Window() time.Duration { return 0 }

// Write writes promotion_gates_<stamp>.json|.md and latest.json|.md under
// outDir atomically (temp file + rename); stamps never collide.
func Write(outDir string, r *Report) (*Artifacts, error) {
	return nil, errors.New("gates: not implemented")
}
