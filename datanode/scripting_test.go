package datanode

import "testing"

// scriptingDiffScript is run on a DataNode and a real Redis; every reply
// must be the same bytes: Lua to Redis and Redis to Lua conversions,
// errors of scripts and of the commands they call, and SCRIPT.
var scriptingDiffScript = []string{
	`EVAL "return 1.9" 0`,
	`EVAL "return -1.9" 0`,
	`EVAL "return {1,2,nil,3}" 0`,
	`EVAL "return {ok='fine'}" 0`,
	`EVAL "return {err='bad thing'}" 0`,
	`EVAL "return {err='MYERR bad thing'}" 0`,
	`EVAL "return false" 0`,
	`EVAL "return true" 0`,
	`EVAL "return nil" 0`,
	`EVAL "return 'str'" 0`,
	`EVAL "return {1,'a',{2,3,{}},1.5,true,false}" 0`,
	`EVAL "return {1,2,3,'ciao',{1,2}}" 0`,
	`EVAL "return redis.call('get','nokey')" 0`,
	`EVAL "return type(redis.call('get','nokey'))" 0`,
	`EVAL "return x" 0`,
	`EVAL "x=1" 0`,
	`EVAL "error('boom')" 0`,
	`EVAL "error(123)" 0`,
	`EVAL "error({err='X y'})" 0`,
	`EVAL "\n\nerror('line three')" 0`,
	`EVAL "return redis.call('nosuch')" 0`,
	`EVAL "return redis.pcall('nosuch')" 0`,
	`EVAL "return redis.call('multi')" 0`,
	`EVAL "return redis.call('subscribe','x')" 0`,
	`EVAL "return redis.call('eval','return 1','0')" 0`,
	`EVAL "return redis.call('get')" 0`,
	`EVAL "return redis.call()" 0`,
	`EVAL "return redis.pcall()" 0`,
	`EVAL "return redis.call('get',{})" 0`,
	`EVALSHA abc 0`,
	`EVALSHA ffffffffffffffffffffffffffffffffffffffff 0`,
	`EVAL "return 1" -1`,
	`EVAL "return 1" 2 a`,
	`EVAL "return 1" x`,
	`EVAL "return 1"`,
	`EVAL "return redis.error_reply('My err')" 0`,
	`EVAL "return redis.error_reply('-My err')" 0`,
	`EVAL "return redis.error_reply('Single')" 0`,
	`EVAL "return redis.status_reply('X')" 0`,
	`EVAL "return redis.sha1hex('')" 0`,
	`EVAL "return redis.sha1hex('abc')" 0`,
	`EVAL "return redis.call('set',KEYS[1],ARGV[1])" 1 a b`,
	`EVAL "return redis.call('get',KEYS[1])" 1 a`,
	`EVAL "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}" 2 k1 k2 a1 a2`,
	`EVAL "return #ARGV" 0 a b c`,
	`EVAL "return redis.pcall('incr','a')" 0`,
	`EVAL "local t = redis.pcall('incr','a'); return t['err']" 0`,
	`EVAL "return redis.call('incr','a')" 0`,
	`EVAL "redis.call('incr','a')" 0`,
	`EVAL "return redis.call('set','n',3)" 0`,
	`EVAL "redis.call('set','n',0.1); return redis.call('get','n')" 0`,
	`EVAL "redis.call('set','n',1e20); return redis.call('get','n')" 0`,
	`EVAL "return redis.call('incrby','c',5)" 0`,
	`EVAL "return redis.call('rpush','l','a','b','c')" 0`,
	`EVAL "return redis.call('lrange','l',0,-1)" 0`,
	`EVAL "return redis.call('hgetall','nokey')" 0`,
	`EVAL "return redis.call('ping')" 0`,
	`EVAL "return redis.call('get','l')" 0`,
	`EVAL "return redis.pcall('get','l')" 0`,
	`EVAL "local r = redis.call('ping'); return r['ok']" 0`,
	`EVAL "return tostring(1e15)..' '..tostring(0.1)..' '..tostring(1/3)" 0`,
	`EVAL "return os" 0`,
	`EVAL "return tostring(loadfile)" 0`,
	`EVAL "return tostring(dofile)" 0`,
	`EVAL "return type(string.format)..type(table.concat)..type(math.floor)..type(cjson.encode)..type(bit.band)" 0`,
	`EVAL "return cjson.encode({1,2,3})" 0`,
	`EVAL "return cjson.encode({a='x/y'})" 0`,
	`EVAL "return cjson.encode({})" 0`,
	`EVAL "return cjson.encode({1.5,'s',true})" 0`,
	`EVAL "local t = cjson.decode('{\"a\":[1,2,{\"b\":\"c\"}]}'); return {t.a[1], t.a[3].b}" 0`,
	`EVAL "return cjson.decode('[1,2,3]')" 0`,
	`EVAL "return {bit.band(12,10), bit.bor(12,10), bit.bxor(12,10), bit.lshift(1,4), bit.rshift(-1,28), bit.tohex(255)}" 0`,
	`EVAL "return redis.LOG_WARNING" 0`,
	`EVAL "redis.log(redis.LOG_NOTICE, 'hi'); return 1" 0`,
	`EVAL "redis.setresp(2); return 1" 0`,
	`EVAL_RO "return redis.call('get','a')" 0`,
	`EVAL_RO "return redis.call('set','a','b')" 0`,
	`EVAL_RO "return redis.pcall('set','a','b')" 0`,
	`SCRIPT LOAD "return 'loaded'"`,
	`EVALSHA 66ac5e42e7d8cf2b6d0af04a7a1a6e0ae38bd00c 0`,
	`EVALSHA 66AC5E42E7D8CF2B6D0AF04A7A1A6E0AE38BD00C 0`,
	`EVALSHA_RO 66ac5e42e7d8cf2b6d0af04a7a1a6e0ae38bd00c 0`,
	`SCRIPT EXISTS 66ac5e42e7d8cf2b6d0af04a7a1a6e0ae38bd00c ffffffffffffffffffffffffffffffffffffffff`,
	`SCRIPT FLUSH`,
	`SCRIPT EXISTS 66ac5e42e7d8cf2b6d0af04a7a1a6e0ae38bd00c`,
	`EVALSHA 66ac5e42e7d8cf2b6d0af04a7a1a6e0ae38bd00c 0`,
	`SCRIPT FLUSH ASYNC`,
	`SCRIPT FLUSH SYNC`,
	`SCRIPT FLUSH BAD`,
	`SCRIPT FLUSH SYNC x`,
	`SCRIPT KILL`,
	`SCRIPT LOAD`,
	`SCRIPT NOSUCH`,
	`SCRIPT EXISTS`,
	`SCRIPT HELP`,
	`CONFIG GET lua-time-limit`,
	`CONFIG GET busy-reply-threshold`,
	`CONFIG SET lua-time-limit 100`,
	`CONFIG GET busy-reply-threshold`,
}

func TestScriptingAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, scriptingDiffScript, nil)
}

// TestScriptingCommandInfoAgainstRedis checks COMMAND INFO and DOCS of
// the scripting commands against redis-server. SCRIPT itself is left out:
// redis-server lists its subcommands in its dictionary's random order.
func TestScriptingCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range []string{"eval", "evalsha", "eval_ro", "evalsha_ro", "script|load", "script|exists", "script|flush", "script|kill", "script|help", "script|debug"} {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name)
	}
	cmds = append(cmds, "COMMAND GETKEYS EVAL x 2 a b c", "COMMAND GETKEYSANDFLAGS EVAL_RO x 1 a b", "COMMAND GETKEYS EVAL x 0")
	diffAgainstRedis(t, cmds, nil)
}
