package datanode

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// listDiffScript is run on a DataNode and a real Redis; every reply must
// be the same bytes. It covers each list command's replies, errors and
// arity, WRONGTYPE both ways, and the key commands on lists.
var listDiffScript = []string{
	// Pushes, at both ends, one and many elements.
	`RPUSH l a b c`,
	`LPUSH l x y`,
	`LRANGE l 0 -1`,
	`RPUSHX l d`,
	`LPUSHX l z`,
	`RPUSHX nokey a`,
	`LPUSHX nokey a`,
	`EXISTS nokey`,
	`LPUSH l`,
	`RPUSH`,
	`LPUSHX l`,
	`LLEN l`,
	`LLEN nokey`,
	`LLEN l x`,
	// LRANGE's index arithmetic.
	`LRANGE l 0 0`,
	`LRANGE l -1 -1`,
	`LRANGE l -100 100`,
	`LRANGE l 5 2`,
	`LRANGE l 100 200`,
	`LRANGE l -3 -2`,
	`LRANGE l 2 -3`,
	`LRANGE l -9223372036854775808 9223372036854775807`,
	`LRANGE l a 1`,
	`LRANGE l 0 1.5`,
	`LRANGE nokey 0 -1`,
	`LRANGE nokey x 1`,
	`LRANGE l 0`,
	// LINDEX.
	`LINDEX l 0`,
	`LINDEX l -1`,
	`LINDEX l 3`,
	`LINDEX l 100`,
	`LINDEX l -100`,
	`LINDEX l x`,
	`LINDEX nokey x`,
	`LINDEX nokey 0`,
	// LSET, same and other lengths.
	`LSET l 0 Z`,
	`LSET l -1 longer-element`,
	`LSET l 3 ""`,
	`LSET l 100 x`,
	`LSET l -100 x`,
	`LSET l x x`,
	`LSET nokey 0 x`,
	`LSET nokey x x`,
	`LRANGE l 0 -1`,
	// LINSERT.
	`LINSERT l BEFORE Z first`,
	`LINSERT l after longer-element last`,
	`LINSERT l AFTER a mid`,
	`LINSERT l BEFORE nosuch x`,
	`LINSERT l MIDDLE a x`,
	`LINSERT nokey BEFORE a x`,
	`LINSERT nokey MIDDLE a x`,
	`LINSERT l BEFORE a`,
	`LRANGE l 0 -1`,
	// LREM in both directions and all.
	`RPUSH r a b a c a b a`,
	`LREM r 2 a`,
	`LRANGE r 0 -1`,
	`LREM r -1 a`,
	`LRANGE r 0 -1`,
	`LREM r 0 b`,
	`LRANGE r 0 -1`,
	`LREM r 0 nosuch`,
	`LREM r x a`,
	`LREM nokey 1 a`,
	`LREM nokey x a`,
	`LREM r 0 a`,
	`LREM r 0 c`,
	`EXISTS r`,
	// LTRIM.
	`RPUSH t 0 1 2 3 4 5 6 7 8 9`,
	`LTRIM t 1 -2`,
	`LRANGE t 0 -1`,
	`LTRIM t -3 100`,
	`LRANGE t 0 -1`,
	`LTRIM t 0 0`,
	`LRANGE t 0 -1`,
	`LTRIM t x 1`,
	`LTRIM nokey 0 1`,
	`LTRIM nokey x 1`,
	`LTRIM t 5 1`,
	`EXISTS t`,
	// LPOS.
	`RPUSH p a b c 1 2 3 c c`,
	`LPOS p c`,
	`LPOS p c RANK 2`,
	`LPOS p c RANK -1`,
	`LPOS p c RANK -3`,
	`LPOS p c RANK 4`,
	`LPOS p c COUNT 2`,
	`LPOS p c COUNT 0`,
	`LPOS p c COUNT 0 RANK -1`,
	`LPOS p c COUNT 0 RANK 2`,
	`LPOS p c COUNT 10 MAXLEN 3`,
	`LPOS p c MAXLEN 2`,
	`LPOS p c MAXLEN 0`,
	`LPOS p c RANK -1 MAXLEN 1`,
	`LPOS p nosuch`,
	`LPOS p nosuch COUNT 1`,
	`LPOS nokey c`,
	`LPOS nokey c COUNT 1`,
	`LPOS nokey c RANK 0`,
	`LPOS p c RANK 0`,
	`LPOS p c RANK x`,
	`LPOS p c RANK -9223372036854775808`,
	`LPOS p c RANK 9223372036854775807`,
	`LPOS p c RANK -9223372036854775807`,
	`LPOS p c RANK -9223372036854775808 COUNT 0`,
	`LPOS p c COUNT -1`,
	`LPOS p c COUNT x`,
	`LPOS p c MAXLEN -1`,
	`LPOS p c MAXLEN x`,
	`LPOS p c RANK`,
	`LPOS p c FOO 1`,
	`LPOS p c COUNT 1 COUNT 2`,
	`LPOS p`,
	// LPOP and RPOP with and without count.
	`RPUSH q 1 2 3 4 5 6 7`,
	`LPOP q`,
	`RPOP q`,
	`LPOP q 2`,
	`RPOP q 2`,
	`LPOP q 0`,
	`RPOP q 0`,
	`LPOP q -1`,
	`LPOP q x`,
	`RPOP q -9223372036854775808`,
	`LPOP q 1 2`,
	`RPOP q 100`,
	`EXISTS q`,
	`LPOP q`,
	`LPOP q 0`,
	`RPOP q 5`,
	`LPOP nokey -1`,
	`RPUSH q a`,
	`RPOP q 9223372036854775807`,
	`LPOP`,
	// LMOVE and RPOPLPUSH, other keys and the same key.
	`RPUSH src a b c`,
	`LMOVE src dst LEFT RIGHT`,
	`LMOVE src dst RIGHT LEFT`,
	`LMOVE src dst left left`,
	`LRANGE dst 0 -1`,
	`EXISTS src`,
	`LMOVE src dst LEFT RIGHT`,
	`LMOVE dst dst LEFT RIGHT`,
	`LRANGE dst 0 -1`,
	`LMOVE dst dst RIGHT LEFT`,
	`LRANGE dst 0 -1`,
	`LMOVE dst dst LEFT LEFT`,
	`LMOVE dst dst RIGHT RIGHT`,
	`LRANGE dst 0 -1`,
	`LMOVE dst src UP LEFT`,
	`LMOVE dst src LEFT DOWN`,
	`LMOVE nokey dst LEFT FOO`,
	`LMOVE dst src LEFT`,
	`RPOPLPUSH dst src`,
	`RPOPLPUSH src src`,
	`LRANGE src 0 -1`,
	`RPOPLPUSH nokey src`,
	`RPOPLPUSH src`,
	`RPUSH one x`,
	`EXPIRE one 100`,
	`LMOVE one one LEFT RIGHT`,
	`TTL one`,
	`LMOVE one other LEFT RIGHT`,
	`EXISTS one`,
	`TTL other`,
	// LMPOP.
	`RPUSH m1 a b c d`,
	`RPUSH m2 x y`,
	`LMPOP 2 nokey m1 LEFT`,
	`LMPOP 2 m1 m2 RIGHT COUNT 2`,
	`LMPOP 2 m1 m2 LEFT COUNT 10`,
	`LMPOP 2 m1 m2 LEFT COUNT 10`,
	`LMPOP 2 m1 m2 LEFT`,
	`LMPOP 1 nokey LEFT`,
	`LMPOP 0 m1 LEFT`,
	`LMPOP -1 m1 LEFT`,
	`LMPOP x m1 LEFT`,
	`LMPOP 3 m1 m2 LEFT`,
	`LMPOP 9223372036854775807 m1 LEFT`,
	`LMPOP 1 m1 MIDDLE`,
	`LMPOP 1 m1 LEFT COUNT 0`,
	`LMPOP 1 m1 LEFT COUNT -1`,
	`LMPOP 1 m1 LEFT COUNT x`,
	`LMPOP 1 m1 LEFT COUNT 1 COUNT 2`,
	`LMPOP 1 m1 LEFT COUNT`,
	`LMPOP 1 m1 LEFT FOO`,
	`LMPOP 1 m1`,
	`LMPOP 1`,
	// WRONGTYPE both ways.
	`SET s str`,
	`HSET h f v`,
	`LPUSH s a`,
	`RPUSH s a`,
	`LPUSHX s a`,
	`RPUSHX s a`,
	`LPOP s`,
	`RPOP s 2`,
	`LPOP s -1`,
	`LPOP s 0`,
	`LLEN s`,
	`LRANGE s 0 -1`,
	`LRANGE s x 1`,
	`LINDEX s 0`,
	`LINDEX s x`,
	`LSET s 0 x`,
	`LSET s x x`,
	`LINSERT h BEFORE a b`,
	`LINSERT s MIDDLE a b`,
	`LREM s 0 a`,
	`LTRIM s 0 1`,
	`LPOS s a`,
	`LPOS s a RANK 0`,
	`LMOVE s dst LEFT LEFT`,
	`LMOVE dst s LEFT LEFT`,
	`LMOVE nokey s LEFT LEFT`,
	`RPOPLPUSH dst h`,
	`LMPOP 2 nokey s LEFT`,
	`LMPOP 2 s dst LEFT`,
	`LMPOP 2 dst s LEFT`,
	`RPUSH lw a b`,
	`GET lw`,
	`APPEND lw x`,
	`INCR lw`,
	`STRLEN lw`,
	`GETRANGE lw 0 1`,
	`SETRANGE lw 0 x`,
	`GETSET lw x`,
	`GETDEL lw`,
	`GETEX lw`,
	`SET lw x GET`,
	`MGET lw s`,
	`HSET lw a b`,
	`HGET lw a`,
	`HGETALL lw`,
	`HLEN lw`,
	`TYPE lw`,
	`OBJECT ENCODING lw`,
	// Key commands on lists.
	`EXPIRE lw 100`,
	`TTL lw`,
	`RPUSH lw c`,
	`LPOP lw`,
	`TTL lw`,
	`RENAME lw lw2`,
	`LRANGE lw2 0 -1`,
	`TYPE lw2`,
	`TTL lw2`,
	`PERSIST lw2`,
	`RENAMENX lw2 s`,
	`SET lw2 x`,
	`TYPE lw2`,
	`RPUSH lw2 a`,
	`DEL lw2`,
	`RPUSH lw2 a`,
	`TYPE lw2`,
	`RPUSH "" ""`,
	`LRANGE "" 0 -1`,
	`LINDEX "" 0`,
	`LPOS "" ""`,
	`FLUSHALL`,
	`SET s1 x`,
	`RPUSH l1 a`,
	`HSET h1 a b`,
	`SCAN 0 TYPE list COUNT 100`,
	`SCAN 0 TYPE LIST COUNT 100`,
	`DBSIZE`,
	`PEXPIREAT l1 1`,
	`EXISTS l1`,
	`LLEN l1`,
	`RPUSH l1 a b`,
	`UNLINK l1`,
	`EXISTS l1`,
}

func TestListAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, listDiffScript, nil)
}

// listCommandNames are the list commands CHKV serves.
var listCommandNames = []string{
	"lpush", "rpush", "lpushx", "rpushx", "lpop", "rpop", "llen", "lrange", "lindex", "lset",
	"linsert", "lrem", "ltrim", "lpos", "lmove", "rpoplpush", "lmpop",
}

// TestListCommandInfoAgainstRedis checks that COMMAND INFO and COMMAND
// DOCS describe every list command exactly as redis-server does, and that
// COMMAND GETKEYSANDFLAGS finds the same keys with the same flags.
func TestListCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range listCommandNames {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name, "COMMAND GETKEYSANDFLAGS "+name+" k a b c")
	}
	cmds = append(cmds,
		"COMMAND GETKEYSANDFLAGS lmove src dst LEFT RIGHT", "COMMAND GETKEYS rpoplpush a b",
		"COMMAND GETKEYSANDFLAGS lmpop 2 a b LEFT", "COMMAND GETKEYS lmpop 3 a b LEFT",
		"COMMAND GETKEYS lmpop 0 a b LEFT", "COMMAND GETKEYS lmpop x a b LEFT",
		"COMMAND GETKEYS lpush k")
	diffAgainstRedis(t, cmds, nil)
}

// TestListConfigAgainstRedis checks list-max-listpack-size and
// list-compress-depth (and the old name list-max-ziplist-size): their
// defaults and validation, and that every list is a quicklist, as in
// Redis 7.0.
func TestListConfigAgainstRedis(t *testing.T) {
	long := strings.Repeat("x", 10000)
	diffAgainstRedis(t, []string{
		"CONFIG GET list-max-listpack-size", "CONFIG GET list-max-ziplist-size", "CONFIG GET list-compress-depth",
		"CONFIG SET list-max-listpack-size 0", "CONFIG GET list-max-ziplist-size",
		"CONFIG SET list-max-listpack-size x", "CONFIG SET list-max-listpack-size 2147483648",
		"CONFIG SET list-max-listpack-size -2147483649", "CONFIG SET list-max-listpack-size -2147483648",
		"CONFIG SET list-max-ziplist-size 5", "CONFIG GET list-max-listpack-size",
		"CONFIG SET list-compress-depth -1", "CONFIG SET list-compress-depth 1kb",
		"CONFIG SET list-compress-depth 2147483647", "CONFIG GET list-compress-depth",
		"CONFIG SET list-compress-depth 2147483648", "CONFIG SET list-compress-depth 0",
		"RPUSH l a", "OBJECT ENCODING l", "RPUSH l " + long, "OBJECT ENCODING l",
		"LPOP l 2", "OBJECT ENCODING l", "RPUSH l 1", "OBJECT REFCOUNT l",
	}, nil)
}

// TestListRandomAgainstRedis runs seeded random list commands on a few
// lists, pushes and pops at both ends dominating so that lists grow long
// and shrink again, on a DataNode and a real Redis, and requires
// identical replies.
func TestListRandomAgainstRedis(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	key := func() string { return fmt.Sprintf("l%d", rng.IntN(3)) }
	elem := func() string {
		if rng.IntN(30) == 0 {
			return strings.Repeat("v", 100+rng.IntN(200))
		}
		return fmt.Sprintf("e%d", rng.IntN(20))
	}
	idx := func() string { return fmt.Sprint(rng.IntN(40) - 20) }
	var cmds []string
	for range 4000 {
		var c []string
		switch rng.IntN(16) {
		case 0, 1, 2:
			c = []string{[]string{"LPUSH", "RPUSH"}[rng.IntN(2)], key()}
			for range 1 + rng.IntN(8) {
				c = append(c, elem())
			}
		case 3, 4:
			c = []string{[]string{"LPOP", "RPOP"}[rng.IntN(2)], key()}
			if rng.IntN(2) == 0 {
				c = append(c, fmt.Sprint(rng.IntN(6)))
			}
		case 5:
			c = []string{"LRANGE", key(), idx(), idx()}
		case 6:
			c = []string{"LINDEX", key(), idx()}
		case 7:
			c = []string{"LSET", key(), idx(), elem()}
		case 8:
			c = []string{"LINSERT", key(), []string{"BEFORE", "AFTER"}[rng.IntN(2)], elem(), elem()}
		case 9:
			c = []string{"LREM", key(), fmt.Sprint(rng.IntN(5) - 2), elem()}
		case 10:
			c = []string{"LTRIM", key(), idx(), idx()}
		case 11:
			c = []string{"LPOS", key(), elem(), "RANK", fmt.Sprint([]int{1, 2, -1, -2}[rng.IntN(4)]), "COUNT", fmt.Sprint(rng.IntN(3))}
		case 12:
			lr := []string{"LEFT", "RIGHT"}
			c = []string{"LMOVE", key(), key(), lr[rng.IntN(2)], lr[rng.IntN(2)]}
		case 13:
			c = []string{"LMPOP", "2", key(), key(), []string{"LEFT", "RIGHT"}[rng.IntN(2)], "COUNT", fmt.Sprint(1 + rng.IntN(4))}
		case 14:
			c = []string{"LLEN", key()}
		case 15:
			c = []string{"LRANGE", key(), "0", "-1"}
		}
		cmds = append(cmds, strings.Join(c, " "))
	}
	diffAgainstRedis(t, cmds, nil)
}

// TestListLongAgainstRedis pushes and pops thousands of elements at both
// ends, past the room kept at either end many times, and compares the
// whole list with Redis's after each phase.
func TestListLongAgainstRedis(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	r := startRedis(t)
	both := func(args ...string) {
		t.Helper()
		if got, want := c.do(args...), r.do(args...); got != want {
			t.Fatalf("%v: got %s, want %s", args, got, want)
		}
	}
	for i := range 3000 {
		both([]string{"LPUSH", "RPUSH"}[i%3%2], "big", fmt.Sprint(i))
	}
	both("LRANGE", "big", "0", "-1")
	both("LINDEX", "big", "1234")
	both("LINDEX", "big", "-1234")
	both("LRANGE", "big", "-1500", "-1400")
	for i := range 2500 {
		both([]string{"LPOP", "RPOP"}[i%2], "big")
	}
	both("LRANGE", "big", "0", "-1")
	both("LPOP", "big", "300")
	both("RPOP", "big", "300")
	both("EXISTS", "big")
}

// TestListCommandHints checks that redis-cli shows the same argument
// hints for the list commands as for Redis.
func TestListCommandHints(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	r := startRedis(t)
	for _, name := range listCommandNames {
		if got, want := commandHint(t, c, name), commandHint(t, r, name); got != want {
			t.Errorf("%s hint\n got: %s\nwant: %s", name, got, want)
		}
	}
}
