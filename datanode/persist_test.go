package datanode

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chkv/chkv/datanode/snapshot"
	"github.com/chkv/chkv/helper/testutil"
)

// populateAllTypes writes keys of every type in every encoding Redis 7.0
// gives them (small and large), with and without TTLs.
func populateAllTypes(t *testing.T, c *respConn) {
	t.Helper()
	must := func(args ...string) {
		t.Helper()
		if got := c.do(args...); strings.HasPrefix(got, "(error)") {
			t.Fatalf("%v: %s", args, got)
		}
	}
	must("SET", "str", "hello")
	must("SET", "int", "12345")
	must("SET", "neg", "-7")
	must("SET", "long", strings.Repeat("abc", 100)) // LZF-compressed
	must("SET", "bin", "\x00\xff\r\n")
	must("SET", "1000", "an integer key")
	must("SET", "ttl", "v", "PX", "1000000")
	must("RPUSH", "list", "a", "b", "c", "1", "-2", "300000")
	for i := range 600 {
		k := strconv.Itoa(i)
		must("RPUSH", "biglist", "element-number-"+k) // several quicklist nodes
		must("SADD", "bigset", "member-"+k)           // a hash table
		must("SADD", "bigintset", k)                  // past set-max-intset-entries
		must("HSET", "bighash", "field-"+k, k)        // a hash table
		if i < 200 {
			must("ZADD", "bigzset", k+".5", "m-"+k) // a skiplist
		}
	}
	must("SADD", "intset", "1", "2", "3", "-5", "70000", "5000000000")
	must("SADD", "set", "a", "b", "c")
	must("HSET", "hash", "f", "v", "n", "1")
	must("HSET", "longhash", "f", strings.Repeat("x", 100)) // a hash table by value length
	must("ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c", "inf", "d", "1e300", "e")
	must("ZADD", "longzset", "1", strings.Repeat("m", 100))
	must("HSET", "ttlhash", "f", "v")
	must("PEXPIRE", "ttlhash", "2000000")
}

// fingerprint renders every key's type, TTL (present or not) and contents,
// sorted, so that two servers holding the same data render the same.
func fingerprint(t *testing.T, c *respConn) string {
	t.Helper()
	keys, ok := c.doAny("KEYS", "*").([]any)
	if !ok {
		t.Fatal("KEYS did not reply with an array")
	}
	var out []string
	for _, k := range keys {
		key := string(k.([]byte))
		typ := c.do("TYPE", key)
		ttl := c.doAny("PTTL", key).(int64)
		var val string
		switch typ {
		case "string":
			val = c.do("GET", key)
		case "list":
			val = c.do("LRANGE", key, "0", "-1")
		case "zset":
			val = c.do("ZRANGE", key, "0", "-1", "WITHSCORES")
		case "set":
			val = sortedGroups(c.doAny("SMEMBERS", key), 1)
		case "hash":
			val = sortedGroups(c.doAny("HGETALL", key), 2)
		}
		out = append(out, fmt.Sprintf("%q %s ttl=%v %s", key, typ, ttl > 0, val))
	}
	slices.Sort(out)
	return strings.Join(out, "\n")
}

// sortedGroups renders an array reply as groups of per elements, sorted.
func sortedGroups(v any, per int) string {
	a, _ := v.([]any)
	var groups []string
	for i := 0; i+per <= len(a); i += per {
		groups = append(groups, formatReply(a[i:i+per]))
	}
	slices.Sort(groups)
	return strings.Join(groups, " ")
}

// infoField returns one field of INFO.
func infoField(t *testing.T, c *respConn, section, field string) string {
	t.Helper()
	_, f := parseInfo(t, c.info(section))
	return f[field]
}

// TestRDBFromRedis loads an RDB file written by a real redis-server into
// a DataNode: every type and encoding, TTLs kept, expired keys skipped.
func TestRDBFromRedis(t *testing.T) {
	dir := t.TempDir()
	rc := dial(t, "unix", startRedisSocket(t, "--dir", dir, "--dbfilename", "redis.rdb"))
	populateAllTypes(t, rc)
	want := fingerprint(t, rc)
	if got := rc.do("SAVE"); got != "OK" {
		t.Fatalf("redis SAVE = %s", got)
	}
	data, err := os.ReadFile(filepath.Join(dir, "redis.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	// Keys whose TTL has passed at load are skipped: "ttl" (1000 s) is, a
	// while later, and "ttlhash" (2000 s) is not.
	ls, err := snapshot.Load(data, time.Now().Add(1500*time.Second).UnixMilli(), func(e snapshot.Entry) error {
		if string(e.Key) == "ttl" {
			return fmt.Errorf("expired key %s loaded", e.Key)
		}
		return nil
	})
	if err != nil || ls.Expired != 1 {
		t.Fatalf("load later: %+v, %v", ls, err)
	}
	dnDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dnDir, "dump.rdb"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dnDir })
	c := s.dial(t)
	if got := fingerprint(t, c); got != want {
		t.Fatalf("the DataNode holds\n%s\nredis-server held\n%s", got, want)
	}
	if got := infoField(t, c, "persistence", "rdb_last_load_keys_loaded"); got != rc.do("DBSIZE")[len("(integer) "):] {
		t.Errorf("rdb_last_load_keys_loaded = %s", got)
	}
	if got := infoField(t, c, "persistence", "rdb_changes_since_last_save"); got != "0" {
		t.Errorf("rdb_changes_since_last_save after load = %s, want 0", got)
	}
}

// TestRDBToRedis saves a DataNode's keyspace and loads the file into a
// real redis-server after redis-check-rdb accepts it.
func TestRDBToRedis(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	c := s.dial(t)
	populateAllTypes(t, c)
	if got := c.do("SAVE"); got != "OK" {
		t.Fatalf("SAVE = %s", got)
	}
	want := fingerprint(t, c)
	path := filepath.Join(dir, "dump.rdb")
	if check, err := exec.LookPath("redis-check-rdb"); err == nil {
		out, err := exec.Command(check, path).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "RDB looks OK") {
			t.Fatalf("redis-check-rdb: %v\n%s", err, out)
		}
	}
	rc := dial(t, "unix", startRedisSocket(t, "--dir", dir, "--dbfilename", "dump.rdb"))
	if got := fingerprint(t, rc); got != want {
		t.Fatalf("redis-server loaded\n%s\nthe DataNode held\n%s", got, want)
	}
	// Redis gives every value the encoding the DataNode reports.
	for _, key := range []string{"str", "int", "long", "list", "biglist", "intset", "set", "bigset", "bigintset", "hash", "bighash", "longhash", "zset", "bigzset", "longzset"} {
		if got, want := rc.do("OBJECT", "ENCODING", key), c.do("OBJECT", "ENCODING", key); got != want {
			t.Errorf("OBJECT ENCODING %s: redis %s, datanode %s", key, got, want)
		}
	}
}

// TestRestartKeepsData stops a DataNode with save rules (it saves on the
// way out) and starts another on its directory.
func TestRestartKeepsData(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) {
		cfg.Settings.Dir = dir
		cfg.Settings.Save = []SaveRule{{Seconds: 3600, Changes: 1}}
	})
	c := s.dial(t)
	populateAllTypes(t, c)
	want := fingerprint(t, c)
	s.Stop()
	s2 := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	if got := fingerprint(t, s2.dial(t)); got != want {
		t.Fatalf("after restart\n%s\nbefore\n%s", got, want)
	}
}

// TestLoadRefusesBadFile checks that a corrupt or truncated file stops the
// node from starting, with an error naming the file.
func TestLoadRefusesBadFile(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	c := s.dial(t)
	populateAllTypes(t, c)
	if got := c.do("SAVE"); got != "OK" {
		t.Fatalf("SAVE = %s", got)
	}
	path := filepath.Join(dir, "dump.rdb")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)/2] ^= 1
	for name, data := range map[string][]byte{"truncated": good[:len(good)-100], "flipped": flipped, "garbage": []byte("hello")} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg := DefaultConfig()
		cfg.Listen = "127.0.0.1:0"
		cfg.Settings.Dir = dir
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = srv.Start()
		srv.Stop()
		if err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s file: Start = %v, want an error naming %s", name, err, path)
		}
	}
}

// TestBgsaveWhileWriting runs BGSAVE while a client keeps writing: it
// completes, every key written before it is in the file with its value,
// and the writes are served meanwhile.
func TestBgsaveWhileWriting(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	c := s.dial(t)
	const before = 20000
	for i := range before {
		c.send("SET", "k"+strconv.Itoa(i), strconv.Itoa(i))
	}
	for range before {
		c.reply()
	}
	w := s.dial(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	writes := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ; ; writes++ {
			select {
			case <-stop:
				return
			default:
			}
			if got := w.do("SET", "w"+strconv.Itoa(writes), strconv.Itoa(writes)); got != "OK" {
				t.Errorf("SET during BGSAVE = %s", got)
				return
			}
		}
	}()
	if got := c.do("BGSAVE"); got != "Background saving started" {
		t.Fatalf("BGSAVE = %s", got)
	}
	testutil.Eventually(t, 30*time.Second, "BGSAVE to finish", func() bool {
		return infoField(t, c, "persistence", "rdb_bgsave_in_progress") == "0"
	})
	close(stop)
	wg.Wait()
	if got := infoField(t, c, "persistence", "rdb_last_bgsave_status"); got != "ok" {
		t.Fatalf("rdb_last_bgsave_status = %s", got)
	}
	if got := infoField(t, c, "persistence", "rdb_saves"); got != "1" {
		t.Errorf("rdb_saves = %s", got)
	}
	if writes == 0 {
		t.Error("no write was served during the BGSAVE")
	}
	seen := 0
	_, err := snapshot.LoadFile(filepath.Join(dir, "dump.rdb"), time.Now().UnixMilli(), func(e snapshot.Entry) error {
		key, val := string(e.Key), string(e.Value.Elems[0])
		if key[1:] != val {
			return fmt.Errorf("key %s = %s", key, val)
		}
		if key[0] == 'k' {
			seen++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != before {
		t.Fatalf("the file holds %d of the %d keys written before BGSAVE", seen, before)
	}
}

// TestBgsaveInProgress checks the replies while a save runs, and that
// BGSAVE SCHEDULE starts one once it is over.
func TestBgsaveInProgress(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	c := s.dial(t)
	if !s.beginSave(true) { // as if a BGSAVE were running
		t.Fatal("beginSave refused on an idle server")
	}
	for _, st := range []step{
		{"BGSAVE", "(error) ERR Background save already in progress"},
		{"SAVE", "(error) ERR Background save already in progress"},
		{"BGSAVE SCHEDULE", "Background saving scheduled"},
		{"BGSAVE NOW", "(error) ERR syntax error"},
	} {
		if got := c.do(splitArgs(t, st.cmd)...); got != st.want {
			t.Errorf("%s = %s, want %s", st.cmd, got, st.want)
		}
	}
	if got := infoField(t, c, "persistence", "rdb_bgsave_in_progress"); got != "1" {
		t.Errorf("rdb_bgsave_in_progress = %s, want 1", got)
	}
	s.persist.mu.Lock()
	s.persist.running, s.persist.bg = false, false
	s.persist.mu.Unlock()
	testutil.Eventually(t, 10*time.Second, "the scheduled BGSAVE to run", func() bool {
		return infoField(t, c, "persistence", "rdb_saves") == "1"
	})
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil {
		t.Fatal(err)
	}
}

// TestSaveFailure makes the file impossible to write (its name is taken by
// a directory): SAVE and BGSAVE fail, nothing is left behind, LASTSAVE
// stays, and INFO reports the failure.
func TestSaveFailure(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	if err := os.MkdirAll(filepath.Join(dir, "dump.rdb", "x"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := s.dial(t)
	c.do("SET", "k", "v")
	last := c.do("LASTSAVE")
	if got := c.do("SAVE"); got != "(error) ERR" {
		t.Fatalf("SAVE = %s", got)
	}
	if got := c.do("BGSAVE"); got != "Background saving started" {
		t.Fatalf("BGSAVE = %s", got)
	}
	testutil.Eventually(t, 10*time.Second, "BGSAVE to fail", func() bool {
		return infoField(t, c, "persistence", "rdb_last_bgsave_status") == "err"
	})
	if got := c.do("LASTSAVE"); got != last {
		t.Errorf("LASTSAVE moved from %s to %s after failed saves", last, got)
	}
	if got := infoField(t, c, "persistence", "rdb_changes_since_last_save"); got != "1" {
		t.Errorf("rdb_changes_since_last_save = %s, want 1", got)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("the directory holds %d entries after failed saves, want 1", len(ents))
	}
}

// TestSaveRules checks that a save rule starts a BGSAVE from the cron.
func TestSaveRules(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	c := s.dial(t)
	if got := c.do("CONFIG", "SET", "save", "1 2"); got != "OK" {
		t.Fatalf("CONFIG SET save = %s", got)
	}
	c.do("SET", "a", "1")
	c.do("SET", "b", "2")
	testutil.Eventually(t, 10*time.Second, "the save rule to save", func() bool {
		return infoField(t, c, "persistence", "rdb_saves") == "1"
	})
	if got := infoField(t, c, "persistence", "rdb_changes_since_last_save"); got != "0" {
		t.Errorf("rdb_changes_since_last_save = %s, want 0", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil {
		t.Fatal(err)
	}
}

// TestPersistConfig checks CONFIG GET and SET of save, dir and dbfilename
// against Redis's replies.
func TestPersistConfig(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"CONFIG SET save 100", "(error) ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{`CONFIG SET save "0 1"`, "(error) ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{`CONFIG SET save "10 x"`, "(error) ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters"},
		{`CONFIG SET save "100 10 60 1000"`, "OK"},
		{"CONFIG GET save", `["save" "100 10 60 1000"]`},
		{`CONFIG SET save ""`, "OK"},
		{"CONFIG GET save", `["save" ""]`},
		{"CONFIG SET dir /tmp", "(error) ERR CONFIG SET failed (possibly related to argument 'dir') - can't set protected config"},
		{"CONFIG SET dbfilename x.rdb", "(error) ERR CONFIG SET failed (possibly related to argument 'dbfilename') - can't set protected config"},
		{"CONFIG GET dbfilename", `["dbfilename" "dump.rdb"]`},
		{"SAVE x", "(error) ERR wrong number of arguments for 'save' command"},
	})
	// With enable-protected-configs, as in Redis.
	scriptTest(t, "protected", []step{
		{"CONFIG SET enable-protected-configs yes", "(error) ERR CONFIG SET failed (possibly related to argument 'enable-protected-configs') - can't set immutable config"},
	})
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.EnableProtectedConfigs = true })
	c := s.dial(t)
	for _, st := range []step{
		{"CONFIG SET dir /nonexistent-chkv-dir", "(error) ERR CONFIG SET failed (possibly related to argument 'dir') - No such file or directory"},
		{"CONFIG SET dbfilename a/b.rdb", "(error) ERR CONFIG SET failed (possibly related to argument 'dbfilename') - dbfilename can't be a path, just a filename"},
		{"CONFIG SET dbfilename x.rdb", "OK"},
		{"CONFIG GET dbfilename", `["dbfilename" "x.rdb"]`},
		{"CONFIG SET dbfilename dump.rdb", "OK"},
	} {
		if got := c.do(splitArgs(t, st.cmd)...); got != st.want {
			t.Errorf("%s = %s, want %s", st.cmd, got, st.want)
		}
	}
	if got := c.do("CONFIG", "SET", "dir", dir); got != "OK" {
		t.Fatalf("CONFIG SET dir = %s", got)
	}
	if got, want := c.do("CONFIG", "GET", "dir"), fmt.Sprintf("[\"dir\" %q]", dir); got != want {
		t.Errorf("CONFIG GET dir = %s, want %s", got, want)
	}
	if got := c.do("SAVE"); got != "OK" {
		t.Fatalf("SAVE = %s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil {
		t.Fatal(err)
	}
}

// TestMisconfAfterFailedBgsave checks Redis's stop-writes-on-bgsave-error:
// with save rules set, a failed BGSAVE makes writes and PING fail with
// MISCONF until a save succeeds; reads go on.
func TestMisconfAfterFailedBgsave(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) {
		cfg.Settings.Dir = dir
		cfg.Settings.Save = []SaveRule{{Seconds: 3600, Changes: 1}}
	})
	blocker := filepath.Join(dir, "dump.rdb", "x")
	if err := os.MkdirAll(blocker, 0o755); err != nil {
		t.Fatal(err)
	}
	c := s.dial(t)
	c.do("SET", "k", "v")
	if got := c.do("BGSAVE"); got != "Background saving started" {
		t.Fatalf("BGSAVE = %s", got)
	}
	testutil.Eventually(t, 10*time.Second, "BGSAVE to fail", func() bool {
		return infoField(t, c, "persistence", "rdb_last_bgsave_status") == "err"
	})
	for _, st := range []step{
		{"SET k w", "(error) " + errMisconf},
		{"PING", "(error) " + errMisconf},
		{"GET k", `"v"`},
		{"CONFIG SET stop-writes-on-bgsave-error no", "OK"},
		{"SET k w", "OK"},
		{"CONFIG SET stop-writes-on-bgsave-error yes", "OK"},
		{"DEL k", "(error) " + errMisconf},
	} {
		if got := c.do(splitArgs(t, st.cmd)...); got != st.want {
			t.Errorf("%s = %s, want %s", st.cmd, got, st.want)
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "dump.rdb")); err != nil {
		t.Fatal(err)
	}
	if got := c.do("BGSAVE"); got != "Background saving started" {
		t.Fatalf("BGSAVE = %s", got)
	}
	testutil.Eventually(t, 10*time.Second, "BGSAVE to succeed", func() bool {
		return infoField(t, c, "persistence", "rdb_last_bgsave_status") == "ok"
	})
	if got := c.do("SET", "k", "x"); got != "OK" {
		t.Errorf("SET after a successful BGSAVE = %s", got)
	}
}

// TestSaveInMulti checks that MULTI refuses SAVE and EXEC then aborts, as
// in Redis, while BGSAVE is queued and run.
func TestSaveInMulti(t *testing.T) {
	scriptTest(t, "save", []step{
		{"MULTI", "OK"},
		{"SAVE", "(error) ERR Command not allowed inside a transaction"},
		{"EXEC", "(error) EXECABORT Transaction discarded because of previous errors."},
	})
}

// TestClusterNodeDoesNotLoad checks that a cluster DataNode leaves its RDB
// file unloaded (it does not know its slots at start) and untouched.
func TestClusterNodeDoesNotLoad(t *testing.T) {
	dir := t.TempDir()
	s := startServer(t, func(cfg *Config) { cfg.Settings.Dir = dir })
	c := s.dial(t)
	c.do("SET", "k", "v")
	if got := c.do("SAVE"); got != "OK" {
		t.Fatalf("SAVE = %s", got)
	}
	s.Stop()
	before, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	grpcLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs := startServer(t, func(cfg *Config) {
		cfg.Settings.Dir = dir
		cfg.NameNodes = []string{"127.0.0.1:1"} // never answers: the node stays unassigned
		cfg.GRPCListener = grpcLn
	})
	if n := cs.Keys(); n != 0 {
		t.Fatalf("the cluster node holds %d keys at start, want 0", n)
	}
	after, err := os.ReadFile(filepath.Join(dir, "dump.rdb"))
	if err != nil || !slices.Equal(before, after) {
		t.Fatalf("the RDB file changed: %v", err)
	}
}

// TestInfoPersistenceFields checks that INFO persistence lists Redis's
// fields in Redis's order.
func TestInfoPersistenceFields(t *testing.T) {
	names := func(text string) []string {
		var out []string
		for _, line := range strings.Split(strings.TrimSpace(text), "\r\n") {
			name, _, _ := strings.Cut(line, ":")
			out = append(out, name)
		}
		return out
	}
	got := names(startServer(t, nil).dial(t).info("persistence"))
	want := names(startRedis(t).info("persistence"))
	if !slices.Equal(got, want) {
		t.Fatalf("INFO persistence fields\n got: %v\nwant: %v", got, want)
	}
}
