package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sony/gobreaker/v2"

	"github.com/minbil/minbil-bff/gateway/config"
)

// Redis is a KV in Redis, shared by every replica. Each command is bounded
// by the configured timeout, and a circuit breaker stops calling a Redis
// that keeps failing for a second at a time, so an outage costs the gateway
// no latency; go-redis reconnects on its own when Redis returns.
type Redis struct {
	client  *redis.Client
	prefix  string
	timeout time.Duration
	breaker *gobreaker.CircuitBreaker[any]
}

var (
	_ KV      = (*Redis)(nil)
	_ Counter = (*Redis)(nil)
)

// RedisOption configures a Redis store.
type RedisOption func(*gobreaker.Settings)

// OnBreakerChange calls f with each new state of the store's breaker (under
// the breaker's lock: f must not call the store).
func OnBreakerChange(f func(to gobreaker.State)) RedisOption {
	return func(s *gobreaker.Settings) {
		s.OnStateChange = func(_ string, _, to gobreaker.State) { f(to) }
	}
}

// NewRedis connects lazily to cfg.Addr; it does not fail when Redis is down.
func NewRedis(cfg config.Redis, opts ...RedisOption) *Redis {
	client := redis.NewClient(&redis.Options{
		Addr:            cfg.Addr,
		Password:        cfg.Password,
		DB:              cfg.DB,
		DialTimeout:     cfg.Timeout,
		ReadTimeout:     cfg.Timeout,
		WriteTimeout:    cfg.Timeout,
		PoolTimeout:     cfg.Timeout,
		MaxRetries:      -1, // no retries: the caller falls back at once
		DisableIdentity: true,
	})
	settings := gobreaker.Settings{
		Name:        "redis",
		MaxRequests: 1,
		Timeout:     time.Second,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= 3 },
		// A Redis that answers is up: a missing key, or a refusal
		// because its memory is full, does not count toward the breaker.
		IsSuccessful: func(err error) bool {
			return err == nil || errors.Is(err, redis.Nil) || redis.IsOOMError(err)
		},
	}
	for _, opt := range opts {
		opt(&settings)
	}
	return &Redis{
		client:  client,
		prefix:  cfg.KeyPrefix,
		timeout: cfg.Timeout,
		breaker: gobreaker.NewCircuitBreaker[any](settings),
	}
}

// do runs one command through the breaker with its own deadline.
func (r *Redis) do(op string, fn func(ctx context.Context) (any, error)) (any, error) {
	v, err := r.breaker.Execute(func() (any, error) {
		ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
		defer cancel()
		return fn(ctx)
	})
	switch {
	case err == nil, errors.Is(err, redis.Nil):
		return v, err
	case redis.IsOOMError(err):
		// maxmemory reached under noeviction: a full store, which refuses
		// new state rather than drop what it holds (R3-F2).
		return nil, fmt.Errorf("redis %s: %w: %w", op, ErrFull, err)
	}
	return nil, fmt.Errorf("redis %s: %w: %w", op, ErrUnavailable, err)
}

// PolicyNoEviction is the maxmemory-policy under which Redis refuses writes
// when full instead of dropping keys: the only one that keeps idempotency
// records (every other policy may drop a key with a TTL, and every record
// has one).
const PolicyNoEviction = "noeviction"

// EvictionPolicy reads Redis's maxmemory-policy (CONFIG GET). A managed
// Redis may refuse CONFIG, and a Redis may be down: both are errors, and
// neither counts toward the breaker.
func (r *Redis) EvictionPolicy(ctx context.Context) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	kv, err := r.client.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		return "", fmt.Errorf("redis config get maxmemory-policy: %w", err)
	}
	policy, ok := kv["maxmemory-policy"]
	if !ok {
		return "", errors.New("redis config get maxmemory-policy: no such setting")
	}
	return policy, nil
}

// Hit counts a hit of key in its window (Counter) in one round trip: a
// transaction that starts the window when key is absent (SET NX PX),
// increments it (INCR keeps the expiry) and reads the time left.
func (r *Redis) Hit(key string, window time.Duration) (int64, time.Duration, error) {
	key = r.prefix + key
	var incr *redis.IntCmd
	var ttl *redis.DurationCmd
	_, err := r.do("hit", func(ctx context.Context) (any, error) {
		cmds, err := r.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.SetNX(ctx, key, 0, window)
			incr = p.Incr(ctx, key)
			ttl = p.PTTL(ctx, key)
			return nil
		})
		if err != nil && len(cmds) > 0 && redis.IsOOMError(cmds[0].Err()) {
			// A full Redis refused the transaction's commands (EXECABORT
			// names no cause): it answers, it is full.
			return nil, cmds[0].Err()
		}
		return cmds, err
	})
	if err != nil {
		return 0, 0, err
	}
	left := ttl.Val()
	if left < 0 {
		left = window // no expiry was readable; the window is as long as it can be
	}
	return incr.Val(), left, nil
}

// Get returns the value of key, or nil when there is none.
func (r *Redis) Get(key string) ([]byte, error) {
	v, err := r.do("get", func(ctx context.Context) (any, error) {
		return r.client.Get(ctx, r.prefix+key).Bytes()
	})
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// Set stores val under key for exp (0: no expiry).
func (r *Redis) Set(key string, val []byte, exp time.Duration) error {
	_, err := r.do("set", func(ctx context.Context) (any, error) {
		return nil, r.client.Set(ctx, r.prefix+key, val, exp).Err()
	})
	return err
}

// SetNX stores val under key unless it exists, atomically across replicas.
func (r *Redis) SetNX(key string, val []byte, exp time.Duration) (bool, error) {
	v, err := r.do("setnx", func(ctx context.Context) (any, error) {
		return r.client.SetNX(ctx, r.prefix+key, val, exp).Result()
	})
	if err != nil {
		return false, err
	}
	return v.(bool), nil
}

// Delete removes key.
func (r *Redis) Delete(key string) error {
	_, err := r.do("del", func(ctx context.Context) (any, error) {
		return nil, r.client.Del(ctx, r.prefix+key).Err()
	})
	return err
}

// Reset removes every key under the prefix.
func (r *Redis) Reset() error {
	_, err := r.do("reset", func(ctx context.Context) (any, error) {
		iter := r.client.Scan(ctx, 0, r.prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			if err := r.client.Del(ctx, iter.Val()).Err(); err != nil {
				return nil, err
			}
		}
		return nil, iter.Err()
	})
	return err
}

// Close closes the connection pool.
func (r *Redis) Close() error { return r.client.Close() }
