package store

import "fmt"

// Policy is a maxmemory eviction policy, named as in Redis.
type Policy int

// The eviction policies Redis offers.
const (
	NoEviction     Policy = iota // evict nothing: writes fail at the limit
	AllKeysLRU                   // the least recently used key
	AllKeysLFU                   // the least frequently used key
	AllKeysRandom                // any key
	VolatileLRU                  // the least recently used key with a TTL
	VolatileLFU                  // the least frequently used key with a TTL
	VolatileRandom               // any key with a TTL
	VolatileTTL                  // the key with the nearest expiry
)

var policyNames = [...]string{
	NoEviction:     "noeviction",
	AllKeysLRU:     "allkeys-lru",
	AllKeysLFU:     "allkeys-lfu",
	AllKeysRandom:  "allkeys-random",
	VolatileLRU:    "volatile-lru",
	VolatileLFU:    "volatile-lfu",
	VolatileRandom: "volatile-random",
	VolatileTTL:    "volatile-ttl",
}

// String returns the policy's Redis name.
func (p Policy) String() string {
	if p < 0 || int(p) >= len(policyNames) {
		return fmt.Sprintf("Policy(%d)", int(p))
	}
	return policyNames[p]
}

// Volatile reports whether the policy only evicts keys that have a TTL.
func (p Policy) Volatile() bool {
	return p == VolatileLRU || p == VolatileLFU || p == VolatileRandom || p == VolatileTTL
}

// ParsePolicy returns the policy with the given Redis name.
func ParsePolicy(name string) (Policy, error) {
	for p, n := range policyNames {
		if n == name {
			return Policy(p), nil
		}
	}
	return 0, fmt.Errorf("store: unknown maxmemory policy %q", name)
}
