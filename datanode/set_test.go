package datanode

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// setDiffScript is run on a DataNode and a real Redis. A plain line's
// replies must be the same bytes; a line starting with "~" replies an
// array whose order Redis leaves open (a hashtable-encoded set), compared
// sorted; one starting with "#" replies random members, of which only
// the number is compared.
var setDiffScript = []string{
	// intsets: ascending order, exact replies
	`SADD s 3 1 2 3 -5 10`,
	`SMEMBERS s`,
	`OBJECT ENCODING s`,
	`SADD s 2`,
	`SADD s 007`,
	`OBJECT ENCODING s`,
	`~SMEMBERS s`,
	`SREM s 007 nosuch 10`,
	`OBJECT ENCODING s`,
	`SADD n 9223372036854775807 -9223372036854775808 0 -0 +1`,
	`OBJECT ENCODING n`,
	`~SMEMBERS n`,
	`SADD i 5 4 3 2 1`,
	`SMEMBERS i`,
	`SISMEMBER i 3`,
	`SISMEMBER i 03`,
	`SISMEMBER i x`,
	`SISMEMBER nokey x`,
	`SMISMEMBER i 1 9 x 5`,
	`SMISMEMBER nokey a b`,
	`SCARD i`,
	`SCARD nokey`,
	`SSCAN i 0`,
	`SSCAN i 0 MATCH 1*`,
	`SSCAN i 0 COUNT 1`,
	`SSCAN i 0 COUNT 0`,
	`SSCAN i 0 COUNT x`,
	`SSCAN i 0 TYPE set`,
	`SSCAN i 0 MATCH`,
	`SSCAN i abc`,
	`SSCAN i -1`,
	`SSCAN nokey 0 COUNT 0`,
	`SRANDMEMBER i 5`,
	`SRANDMEMBER i 100`,
	`#SRANDMEMBER i 3`,
	`#SRANDMEMBER i -20`,
	`SRANDMEMBER i 0`,
	`SRANDMEMBER i x`,
	`SRANDMEMBER i 1 2`,
	`SRANDMEMBER i -9223372036854775808`,
	`SRANDMEMBER i 9223372036854775808`,
	`SRANDMEMBER nokey`,
	`SRANDMEMBER nokey 5`,
	`SRANDMEMBER nokey -5`,
	`SPOP nokey`,
	`SPOP nokey 0`,
	`SPOP nokey 3`,
	`SPOP i -1`,
	`SPOP i x`,
	`SPOP i 1 2`,
	`SPOP i 0`,
	`SPOP i 100`,
	`EXISTS i`,
	`SADD one x`,
	`SPOP one`,
	`EXISTS one`,
	`SADD one x`,
	`SRANDMEMBER one`,
	`SRANDMEMBER one -3`,
	`SPOP one 1`,
	`EXISTS one`,
	// hashtable sets
	`SADD h a b c d 1 2`,
	`OBJECT ENCODING h`,
	`~SMEMBERS h`,
	`SCARD h`,
	`SREM h a 1 zz`,
	`~SMEMBERS h`,
	`SREM h b c d 2`,
	`EXISTS h`,
	`SADD h 1 2 3 x`,
	`SREM h x`,
	`OBJECT ENCODING h`,
	`~SRANDMEMBER h 10`,
	`SPOP h 10`,
	`SADD h 1 2 3 x`,
	`SREM h x`,
	`#SPOP h 1`,
	`OBJECT ENCODING h`,
	`SCARD h`,
	`SADD e ""`,
	`SISMEMBER e ""`,
	`SMEMBERS e`,
	`OBJECT ENCODING e`,
	`SPOP e`,
	`EXISTS e`,
	// SMOVE
	`SADD src 1 2 a`,
	`SMOVE src dst 1`,
	`SMOVE src dst 1`,
	`SMOVE src dst nosuch`,
	`SMEMBERS dst`,
	`OBJECT ENCODING dst`,
	`SMOVE src dst a`,
	`OBJECT ENCODING dst`,
	`~SMEMBERS dst`,
	`SMOVE src src 2`,
	`SMOVE src src 9`,
	`SMOVE src dst 2`,
	`EXISTS src`,
	`SMOVE nokey dst 1`,
	`SET str v`,
	`SMOVE nokey str 1`,
	`SMOVE dst str 1`,
	`SMOVE str dst 1`,
	`SADD mv 7`,
	`EXPIRE mv 100`,
	`EXPIRE dst 200`,
	`SMOVE dst mv 2`,
	`TTL mv`,
	`TTL dst`,
	// algebra on intsets: deterministic order
	`DEL a b c`,
	`SADD a 1 2 3 4 5`,
	`SADD b 4 5 6 7`,
	`SADD c 5 9 4`,
	`SINTER a b c`,
	`SINTER a b`,
	`SINTER a nokey`,
	`SINTER nokey a`,
	`SUNION a b c`,
	`SUNION nokey a`,
	`SUNION nokey`,
	`SDIFF a b c`,
	`SDIFF a a`,
	`SDIFF nokey a`,
	`SDIFF a nokey`,
	`SINTERCARD 3 a b c`,
	`SINTERCARD 2 a b LIMIT 1`,
	`SINTERCARD 2 a b LIMIT 0`,
	`SINTERCARD 2 a nokey`,
	`SINTERCARD 0 a`,
	`SINTERCARD x a`,
	`SINTERCARD -1 a`,
	`SINTERCARD 3 a b`,
	`SINTERCARD 1 a LIMIT -1`,
	`SINTERCARD 1 a LIMIT x`,
	`SINTERCARD 1 a LIMIT`,
	`SINTERCARD 1 a FOO 1`,
	`SINTERCARD 1 a LIMIT 1 LIMIT 2`,
	`SINTERCARD 1 str`,
	`SINTERCARD 1`,
	`SINTERSTORE d a b c`,
	`SMEMBERS d`,
	`OBJECT ENCODING d`,
	`SUNIONSTORE d a b c`,
	`SMEMBERS d`,
	`SDIFFSTORE d a b`,
	`SMEMBERS d`,
	`SINTERSTORE d a nokey`,
	`EXISTS d`,
	`SET d x`,
	`EXPIRE d 100`,
	`SUNIONSTORE d a`,
	`TYPE d`,
	`TTL d`,
	`SDIFFSTORE d a a`,
	`EXISTS d`,
	`SUNIONSTORE a a b`,
	`SMEMBERS a`,
	`SINTERSTORE d str a`,
	`SUNIONSTORE d a str`,
	`SDIFFSTORE d a str`,
	`SDIFFSTORE str a`,
	`GET str`,
	`SINTER a str`,
	`SINTER nokey str`,
	`SUNION a str`,
	`SDIFF str a`,
	`SDIFF nokey str`,
	// algebra producing hashtables
	`SADD x a b c 1`,
	`SADD y b c d 2`,
	`~SINTER x y`,
	`~SUNION x y`,
	`~SDIFF x y`,
	`SUNIONSTORE z x y`,
	`OBJECT ENCODING z`,
	`~SMEMBERS z`,
	`SINTERSTORE z x a`,
	`OBJECT ENCODING z`,
	`SMEMBERS z`,
	`SINTERCARD 2 x y`,
	// WRONGTYPE
	`SET str v`,
	`HSET hh f v`,
	`SADD str a`,
	`SREM str a`,
	`SMEMBERS str`,
	`SISMEMBER str a`,
	`SMISMEMBER str a`,
	`SCARD str`,
	`SPOP str`,
	`SPOP str 0`,
	`SPOP str 2`,
	`SRANDMEMBER str`,
	`SRANDMEMBER str 0`,
	`SRANDMEMBER str -2`,
	`SSCAN str 0`,
	`SSCAN str x`,
	`SADD hh a`,
	`GET a`,
	`HGET a f`,
	`HSET a f v`,
	`APPEND a x`,
	`INCR a`,
	`STRLEN a`,
	`GETDEL a`,
	`SET a x GET`,
	// keys commands on sets
	`TYPE a`,
	`TYPE x`,
	`EXPIRE a 100`,
	`TTL a`,
	`SADD a 99`,
	`TTL a`,
	`RENAME a a2`,
	`SMEMBERS a2`,
	`TYPE a2`,
	`TTL a2`,
	`PERSIST a2`,
	`RENAMENX a2 b`,
	`RENAMENX a2 a3`,
	`DEL a3 b`,
	`EXISTS a3 b`,
	`FLUSHALL`,
	`SADD s1 x`,
	`SET k v`,
	// One key of each type: Redis's key order is its dict's, left open.
	`SCAN 0 TYPE set COUNT 100`,
	`SCAN 0 TYPE SET COUNT 100`,
	`SCAN 0 TYPE string COUNT 100`,
	`KEYS s*`,
	`SADD s2 1`,
	`~KEYS s*`,
	`DBSIZE`,
	`PEXPIREAT s1 1`,
	`EXISTS s1`,
	`SISMEMBER s1 x`,
	`SET s2 v`,
	`TYPE s2`,
	`UNLINK s2`,
	// arity
	`SADD s`,
	`SADD`,
	`SREM s`,
	`SMEMBERS`,
	`SMEMBERS a b`,
	`SISMEMBER s`,
	`SISMEMBER s a b`,
	`SMISMEMBER s`,
	`SCARD`,
	`SCARD a b`,
	`SPOP`,
	`SRANDMEMBER`,
	`SMOVE a b`,
	`SMOVE a b c d`,
	`SINTER`,
	`SINTERCARD a`,
	`SUNION`,
	`SDIFF`,
	`SINTERSTORE d`,
	`SUNIONSTORE d`,
	`SDIFFSTORE d`,
	`SSCAN s`,
	// configuration
	`CONFIG GET set-max-intset-entries`,
	`CONFIG SET set-max-intset-entries -1`,
	`CONFIG SET set-max-intset-entries x`,
	`CONFIG SET set-max-intset-entries 1kb`,
	`CONFIG SET set-max-intset-entries 3`,
	`CONFIG GET set-max-intset-entries`,
	`SADD lim 1 2 3`,
	`OBJECT ENCODING lim`,
	`SADD lim 4`,
	`OBJECT ENCODING lim`,
	`SADD lim2 1 2 3 4`,
	`OBJECT ENCODING lim2`,
	`SUNIONSTORE lim3 lim`,
	`OBJECT ENCODING lim3`,
	`SREM lim 4`,
	`OBJECT ENCODING lim`,
	`CONFIG SET set-max-intset-entries 0`,
	`SADD lim4 1`,
	`OBJECT ENCODING lim4`,
	`CONFIG SET set-max-intset-entries 512`,
}

// diffSetScript is diffAgainstRedis with setDiffScript's "~" and "#"
// line prefixes.
func diffSetScript(t *testing.T, cmds []string) {
	t.Helper()
	c := startServer(t, nil).dial(t)
	r := startRedis(t)
	for i, cmd := range cmds {
		var got, want string
		switch cmd[0] {
		case '~':
			args := splitArgs(t, cmd[1:])
			got, want = sortedReply(t, c, false, args...), sortedReply(t, r, false, args...)
		case '#':
			args := splitArgs(t, cmd[1:])
			ga, _ := c.doAny(args...).([]any)
			wa, _ := r.doAny(args...).([]any)
			got, want = fmt.Sprint(len(ga)), fmt.Sprint(len(wa))
		default:
			args := splitArgs(t, cmd)
			got, want = c.do(args...), r.do(args...)
		}
		if got != want {
			t.Errorf("step %d: %s\n got: %s\nwant: %s", i, cmd, got, want)
		}
	}
}

func TestSetAgainstRedis(t *testing.T) {
	diffSetScript(t, setDiffScript)
}

// setCommandNames are the set commands CHKV serves.
var setCommandNames = []string{
	"sadd", "srem", "smembers", "sismember", "smismember", "scard", "spop", "srandmember",
	"smove", "sinter", "sintercard", "sunion", "sdiff", "sinterstore", "sunionstore", "sdiffstore", "sscan",
}

// TestSetCommandInfoAgainstRedis checks that COMMAND INFO, COMMAND DOCS
// and COMMAND GETKEYSANDFLAGS describe every set command exactly as
// redis-server does, several key specs and SINTERCARD's key count
// included.
func TestSetCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range setCommandNames {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name, "COMMAND GETKEYSANDFLAGS "+name+" k f v",
			"COMMAND GETKEYS "+name+" 2 a b c")
	}
	cmds = append(cmds, "COMMAND GETKEYS sintercard 3 a b", "COMMAND GETKEYS sintercard 0 a",
		"COMMAND GETKEYS sintercard x a", "COMMAND GETKEYSANDFLAGS sintercard 2 a b LIMIT 1",
		"COMMAND GETKEYS sintercard", "COMMAND GETKEYS smove a b", "COMMAND GETKEYSANDFLAGS sdiffstore d a b")
	diffAgainstRedis(t, cmds, nil)
}

// TestSetRandomAgainstRedis runs random set commands on a few small
// intsets on a DataNode and a real Redis and requires identical replies:
// intsets reply in ascending order, so every reply is deterministic.
func TestSetRandomAgainstRedis(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	key := func() string { return fmt.Sprintf("s%d", rng.IntN(3)) }
	member := func() string { return fmt.Sprint(rng.IntN(40) - 10) }
	var cmds []string
	for range 3000 {
		var c []string
		switch rng.IntN(11) {
		case 0, 1:
			c = []string{"SADD", key()}
			for range 1 + rng.IntN(8) {
				c = append(c, member())
			}
		case 2:
			c = []string{"SREM", key()}
			for range 1 + rng.IntN(6) {
				c = append(c, member())
			}
		case 3:
			c = []string{"SMEMBERS", key()}
		case 4:
			c = []string{"SMISMEMBER", key(), member(), member(), member()}
		case 5:
			c = []string{"SINTER", key(), key()}
		case 6:
			c = []string{"SUNION", key(), key(), key()}
		case 7:
			c = []string{"SDIFF", key(), key()}
		case 8:
			c = []string{[]string{"SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"}[rng.IntN(3)], key(), key(), key()}
		case 9:
			c = []string{"SMOVE", key(), key(), member()}
		case 10:
			c = []string{"SCARD", key()}
		}
		cmds = append(cmds, strings.Join(c, " "))
	}
	diffAgainstRedis(t, cmds, nil)
}
