package datanode

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestGoRedisAdmin starts go-redis the way applications do and uses the
// administrative commands: its start-up (HELLO, CLIENT SETINFO), PING,
// INFO, CLIENT LIST/INFO and CONFIG GET/SET.
func TestGoRedisAdmin(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rdb := redis.NewClient(&redis.Options{Addr: s.Addr().String(), ClientName: "app-1", MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })

	if got, err := rdb.Ping(ctx).Result(); err != nil || got != "PONG" {
		t.Fatalf("Ping = %q, %v", got, err)
	}
	info, err := rdb.Info(ctx, "server", "keyspace").Result()
	if err != nil || !strings.Contains(info, "redis_version:"+redisVersion+"\r\n") || !strings.Contains(info, "# Keyspace") {
		t.Fatalf("Info = %q, %v", info, err)
	}
	if got, err := rdb.InfoMap(ctx, "stats").Result(); err != nil || got["Stats"]["total_connections_received"] == "" {
		t.Errorf("InfoMap stats = %v, %v", got, err)
	}
	list, err := rdb.ClientList(ctx).Result()
	if err != nil || !strings.Contains(list, " name=app-1 ") || !strings.Contains(list, " lib-name=go-redis") {
		t.Errorf("ClientList = %q, %v", list, err)
	}
	ci, err := rdb.ClientInfo(ctx).Result()
	if err != nil {
		t.Fatalf("ClientInfo: %v", err)
	}
	if ci.Name != "app-1" || ci.LibName == "" || ci.LibVer == "" || ci.LAddr != s.Addr().String() || ci.LastCmd != "client|info" {
		t.Errorf("ClientInfo = %+v", ci)
	}
	if id, err := rdb.ClientID(ctx).Result(); err != nil || id != ci.ID {
		t.Errorf("ClientID = %d, %v; ClientInfo says %d", id, err, ci.ID)
	}
	if got, err := rdb.ConfigSet(ctx, "maxmemory", "100mb").Result(); err != nil || got != "OK" {
		t.Fatalf("ConfigSet = %q, %v", got, err)
	}
	if got, err := rdb.ConfigGet(ctx, "maxmemory*").Result(); err != nil || got["maxmemory"] != "104857600" || got["maxmemory-policy"] != "noeviction" {
		t.Errorf("ConfigGet maxmemory* = %v, %v", got, err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", "lots").Err(); err == nil || !strings.Contains(err.Error(), "argument must be a memory value") {
		t.Errorf("ConfigSet maxmemory lots: %v", err)
	}
	if got, err := rdb.ConfigResetStat(ctx).Result(); err != nil || got != "OK" {
		t.Errorf("ConfigResetStat = %q, %v", got, err)
	}
	if n, err := rdb.DBSize(ctx).Result(); err != nil || n != 0 {
		t.Errorf("DBSize = %d, %v", n, err)
	}
	if tm, err := rdb.Time(ctx).Result(); err != nil || time.Since(tm).Abs() > time.Minute {
		t.Errorf("Time = %v, %v", tm, err)
	}
	if got, err := rdb.ClusterKeySlot(ctx, "foo").Result(); err != nil || got != 12182 {
		t.Errorf("ClusterKeySlot = %d, %v", got, err)
	}
	docs, err := rdb.Command(ctx).Result()
	if err != nil || docs["get"] == nil || docs["get"].FirstKeyPos != 1 || !docs["get"].ReadOnly || len(docs) != len(s.commands) {
		t.Errorf("Command: %d entries, get = %+v, %v", len(docs), docs["get"], err)
	}
}

// TestGoRedisClusterClient points go-redis's ClusterClient at a standalone
// DataNode: it discovers the node through CLUSTER SLOTS and routes every
// key to it.
func TestGoRedisClusterClient(t *testing.T) {
	s := startServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{s.Addr().String()}, MaxRedirects: 0})
	t.Cleanup(func() { cc.Close() })

	for i := range 100 {
		key := "user:" + strconv.Itoa(i)
		if err := cc.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatalf("Set %s: %v", key, err)
		}
	}
	for i := range 100 {
		key := "user:" + strconv.Itoa(i)
		if got, err := cc.Get(ctx, key).Int(); err != nil || got != i {
			t.Fatalf("Get %s = %d, %v", key, got, err)
		}
	}
	slots, err := cc.ClusterSlots(ctx).Result()
	if err != nil || len(slots) != 1 || slots[0].Start != 0 || slots[0].End != 16383 ||
		len(slots[0].Nodes) != 1 || slots[0].Nodes[0].ID != s.ID() || slots[0].Nodes[0].Addr != s.Addr().String() {
		t.Fatalf("ClusterSlots = %+v, %v", slots, err)
	}
	shards, err := cc.ClusterShards(ctx).Result()
	if err != nil || len(shards) != 1 || len(shards[0].Nodes) != 1 || shards[0].Nodes[0].ID != s.ID() || shards[0].Slots[0].End != 16383 {
		t.Fatalf("ClusterShards = %+v, %v", shards, err)
	}
	var keys int
	err = cc.ForEachShard(ctx, func(ctx context.Context, shard *redis.Client) error {
		n, err := shard.DBSize(ctx).Result()
		keys += int(n)
		return err
	})
	if err != nil || keys != 100 {
		t.Fatalf("DBSIZE over the shards = %d, %v", keys, err)
	}
}

// redisCLI runs redis-cli against the node with args and returns its
// output; it skips the test where redis-cli is not installed.
func redisCLI(t *testing.T, s *Server, args ...string) string {
	t.Helper()
	path, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	full := append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(s.listenPort())}, args...)
	out, err := exec.CommandContext(ctx, path, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func TestRedisCLI(t *testing.T) {
	s := startServer(t, nil)
	if out := redisCLI(t, s, "INFO"); !strings.Contains(out, "redis_version:"+redisVersion) || !strings.Contains(out, "# Keyspace") {
		t.Errorf("redis-cli INFO:\n%s", out)
	}
	if out, want := redisCLI(t, s, "CLUSTER", "SLOTS"), fmt.Sprintf("0\n16383\n127.0.0.1\n%d\n%s\n\n", s.listenPort(), s.ID()); out != want {
		t.Errorf("redis-cli CLUSTER SLOTS = %q, want %q", out, want)
	}
	if out, want := redisCLI(t, s, "COMMAND", "COUNT"), strconv.Itoa(len(s.commands))+"\n"; out != want {
		t.Errorf("redis-cli COMMAND COUNT = %q, want %q", out, want)
	}
	// In cluster mode redis-cli follows MOVED redirects; here the node owns
	// every slot, so there are none, and the keys land on it.
	for i := range 5 {
		key := "{tag" + strconv.Itoa(i) + "}k"
		if out := redisCLI(t, s, "-c", "SET", key, "v"+strconv.Itoa(i)); out != "OK\n" {
			t.Errorf("redis-cli -c SET %s = %q", key, out)
		}
		if out := redisCLI(t, s, "-c", "GET", key); out != "v"+strconv.Itoa(i)+"\n" {
			t.Errorf("redis-cli -c GET %s = %q", key, out)
		}
	}
	if out := redisCLI(t, s, "DBSIZE"); out != "5\n" {
		t.Errorf("redis-cli DBSIZE = %q", out)
	}
	// redis-cli reads COMMAND DOCS for its help and hints (it asserts on
	// malformed entries).
	if out := redisCLI(t, s, "COMMAND", "DOCS"); !strings.Contains(out, "client|setname") {
		t.Errorf("redis-cli COMMAND DOCS lacks client|setname")
	}
}
