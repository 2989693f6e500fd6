package datanode

import "testing"

// TestScanTypeAndEncodingConfigAgainstRedis checks SCAN's TYPE filter for
// every type CHKV serves (one key each, so the order cannot differ) and
// the defaults of Redis 7.0's encoding settings, old names included.
func TestScanTypeAndEncodingConfigAgainstRedis(t *testing.T) {
	cmds := []string{"SET s 1", "HSET h f v", "RPUSH l a", "SADD st a", "SADD si 1", "ZADD z 1 a"}
	for _, typ := range []string{"string", "hash", "list", "zset", "stream", "foo", "LIST", "ZSet"} {
		cmds = append(cmds, "SCAN 0 TYPE "+typ+" COUNT 100")
	}
	cmds = append(cmds, "SCAN 0 TYPE set COUNT 100 MATCH st", "SCAN 0 TYPE set COUNT 100 MATCH si", "SCAN 0 TYPE")
	for _, name := range []string{
		"hash-max-listpack-entries", "hash-max-listpack-value", "hash-max-ziplist-entries", "hash-max-ziplist-value",
		"set-max-intset-entries", "zset-max-listpack-entries", "zset-max-listpack-value", "zset-max-ziplist-entries",
		"zset-max-ziplist-value", "list-max-listpack-size", "list-max-ziplist-size", "list-compress-depth",
	} {
		cmds = append(cmds, "CONFIG GET "+name)
	}
	diffAgainstRedis(t, cmds, nil)
}
