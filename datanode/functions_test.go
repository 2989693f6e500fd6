package datanode

import (
	"strconv"
	"testing"
)

// lib returns a FUNCTION LOAD argument: a library named name with body.
func lib(name, body string) string {
	return strconv.Quote("#!lua name=" + name + "\n" + body)
}

// functionsDiffScript is run on a DataNode and a real Redis; every reply
// must be the same bytes. FUNCTION LIST is asked of one library at a
// time, Redis listing its dictionaries in hash order.
var functionsDiffScript = []string{
	`FUNCTION LOAD ` + lib("lib1", `redis.register_function('f1', function(keys, args) return {#keys, keys[1], args[1]} end)`),
	`FCALL f1 2 a b c`,
	`FCALL F1 0`,
	`FCALL_RO f1 0`,
	`FCALL nosuch 0`,
	`FCALL f1 x`,
	`FCALL f1 -1`,
	`FCALL f1 2 a`,
	`FCALL f1`,
	`FUNCTION LOAD ` + lib("lib1", `redis.register_function('f1', function() return 1 end)`),
	`FUNCTION LOAD REPLACE ` + lib("lib1", `redis.register_function('f1', function() return 2 end)`),
	`FCALL f1 0`,
	`FUNCTION LOAD ` + lib("lib2", `redis.register_function('f1', function() return 1 end)`),
	`FUNCTION LOAD ` + lib("counter", `local n = 0
redis.register_function{function_name='incr', callback=function(keys, args) n = n + 1 return n end, flags={'no-writes'}, description='counts'}`),
	`FCALL incr 0`,
	`FCALL_RO incr 0`,
	`FUNCTION LIST LIBRARYNAME counter`,
	`FUNCTION LIST LIBRARYNAME COUNT* WITHCODE`,
	`FUNCTION LIST WITHCODE LIBRARYNAME lib1`,
	`FUNCTION LIST LIBRARYNAME nomatch`,
	`FUNCTION LIST x`,
	`FUNCTION LIST LIBRARYNAME`,
	`FUNCTION LIST WITHCODE WITHCODE`,
	`FUNCTION LIST LIBRARYNAME a LIBRARYNAME b`,
	`FUNCTION STATS`,
	`FUNCTION STATS x`,
	`FUNCTION DELETE counter`,
	`FUNCTION DELETE counter`,
	`FUNCTION DELETE`,
	`FCALL incr 0`,
	`FUNCTION STATS`,
	// Errors of metadata and of loading.
	`FUNCTION LOAD "return 1"`,
	`FUNCTION LOAD "#!lua name=x"`,
	`FUNCTION LOAD "#!lua\n"`,
	`FUNCTION LOAD "#!\n"`,
	`FUNCTION LOAD "#!lua name=a name=b\n"`,
	`FUNCTION LOAD "#!lua name=a foo=b\n"`,
	`FUNCTION LOAD "#!lua name=a-b\n"`,
	`FUNCTION LOAD "#!lua name=\n"`,
	`FUNCTION LOAD "#!js name=ab\n"`,
	`FUNCTION LOAD "#!LUA NAME=up\nredis.register_function('up', function() return 'up' end)"`,
	`FCALL up 0`,
	`FUNCTION LOAD "#!lua name=n1\n"`,
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('ff', function() end) redis.register_function('ff', function() end)`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f-f', function() end)`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function()`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function(1,2,3)`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function(1,2)`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({}, 2)`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('x')`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='x'})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({callback=function() end})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='x', callback=function() end, flags={'bad'}})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='x', callback=function() end, flags={1}})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='x', callback=function() end, flags='no-writes'})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='x', callback=function() end, foo=1})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name={}, callback=function() end})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='x', callback=1})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='x', callback=function() end, description={}})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function({function_name='', callback=function() end})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) error('x')`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) redis.call('ping')`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) redis.pcall('ping')`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) return string.format('x')`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) return cjson.encode({})`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) x = 5`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) redis.x = 5`),
	`FUNCTION LOAD ` + lib("n1", `redis.register_function('f', function() end) redis.log(redis.LOG_NOTICE, 'hi') return type(redis.REDIS_VERSION)`),
	`FCALL f 0`,
	`FUNCTION LOAD ` + lib("slow", `redis.register_function('slow', function() end) while true do end`),
	`FUNCTION LOAD ` + lib("n2", `redis.register_function({function_name=1, callback=function() return 'one' end, description=2, flags={'NO-WRITES','allow-oom','allow-stale','no-cluster','allow-cross-slot-keys'}})`),
	`FCALL_RO 1 0`,
	`FUNCTION LIST LIBRARYNAME n2`,
	`FUNCTION LOAD FOO ` + lib("n3", `redis.register_function('g', function() end)`),
	`FUNCTION LOAD REPLACE`,
	`FUNCTION LOAD REPLACE REPLACE ` + lib("n3", `redis.register_function('g', function() end)`),
	`FUNCTION LOAD`,
	// Runtime: globals, the redis API, errors and writes.
	`FUNCTION LOAD ` + lib("rt", `redis.register_function('boom', function(k,a) error('boom') end)
redis.register_function('nocmd', function(k,a) return redis.call('nosuch') end)
redis.register_function('setg', function(k,a) x = 1 end)
redis.register_function('getg', function(k,a) return y end)
redis.register_function('kv', function(k,a) return type(KEYS) end)
redis.register_function('w', function(k,a) return redis.call('set', k[1], a[1]) end)
redis.register_function('r', function(k,a) return redis.call('get', k[1]) end)
redis.register_function{function_name='ro', callback=function(k,a) return redis.pcall('set', k[1], a[1]) end, flags={'no-writes'}}
redis.register_function('api', function(k,a) return {type(redis.call), type(cjson.encode), type(string.format), type(redis.REDIS_VERSION), redis.sha1hex('')} end)
redis.register_function('err', function(k,a) return redis.error_reply('MY err') end)
redis.register_function('st', function(k,a) return redis.status_reply('fine') end)
redis.register_function('fc', function(k,a) return redis.call('fcall', 'w', 0) end)`),
	`FCALL boom 0`,
	`FCALL nocmd 0`,
	`FCALL setg 0`,
	`FCALL getg 0`,
	`FCALL kv 0`,
	`FCALL w 1 k v`,
	`FCALL r 1 k`,
	`FCALL_RO r 1 k`,
	`FCALL_RO w 1 k v`,
	`FCALL ro 1 k v2`,
	`FCALL_RO ro 1 k v2`,
	`FCALL api 0`,
	`FCALL err 0`,
	`FCALL st 0`,
	`FCALL fc 0`,
	`EVAL "return redis.call('fcall','w',0)" 0`,
	`EVAL "return redis.call('function','list')" 0`,
	`EVAL "return type(redis.register_function)" 0`,
	// FLUSH, DUMP and RESTORE.
	`FUNCTION FLUSH x`,
	`FUNCTION FLUSH sync x`,
	`FUNCTION FLUSH ASYNC`,
	`FUNCTION STATS`,
	`FUNCTION LOAD ` + lib("d1", `redis.register_function('d1', function() return 1 end)`),
	`FUNCTION DUMP`,
	`FUNCTION DUMP x`,
	`FUNCTION FLUSH`,
	`FUNCTION LOAD ` + lib("d2", `redis.register_function('d2', function() return 'a long enough body to be compressed by lzf, with repeats repeats repeats' end)`),
	`FUNCTION DUMP`,
	`FUNCTION RESTORE abc`,
	`FUNCTION RESTORE abc x`,
	`FUNCTION RESTORE abc flush x`,
	`FUNCTION RESTORE ""`,
	`FUNCTION KILL`,
	`FUNCTION KILL x`,
	`FUNCTION`,
	`FUNCTION NOSUCH`,
	`FUNCTION HELP`,
}

func TestFunctionsAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, functionsDiffScript, nil)
}

// TestFunctionsCommandInfoAgainstRedis checks COMMAND INFO and DOCS of
// FCALL, FCALL_RO and FUNCTION's subcommands against redis-server.
// FUNCTION itself is left out: redis-server lists its subcommands in its
// dictionary's random order.
func TestFunctionsCommandInfoAgainstRedis(t *testing.T) {
	var cmds []string
	for _, name := range []string{"fcall", "fcall_ro", "function|load", "function|list", "function|delete", "function|flush",
		"function|dump", "function|restore", "function|stats", "function|kill", "function|help"} {
		cmds = append(cmds, "COMMAND INFO "+name, "COMMAND DOCS "+name)
	}
	cmds = append(cmds, "COMMAND GETKEYS FCALL f 2 a b c", "COMMAND GETKEYSANDFLAGS FCALL_RO f 1 a b", "COMMAND GETKEYS FCALL f 0")
	diffAgainstRedis(t, cmds, nil)
}
