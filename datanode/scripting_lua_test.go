package datanode

import "testing"

// TestScriptingLuaAgainstRedis compares Lua-side behaviour with
// redis-server: pcall of redis.call errors, nested replies, read-only
// library tables, argument conversion, the redis.* helpers' errors, and
// commands called from scripts. Known differences, left out: gopher-lua's
// own runtime error texts ("cannot perform add operation between nil and
// number" for Lua 5.1's "attempt to perform arithmetic on a nil value",
// no variable names in "attempt to index" errors) and compile errors,
// cjson.decode's error texts, and redis.setresp(3), refused (no RESP3).
func TestScriptingLuaAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, []string{
		`SET a x`,
		`EVAL "local ok, e = pcall(function() redis.call('incr','a') end); return {tostring(ok), e['err']}" 0`,
		`EVAL "local ok, e = pcall(function() error('x') end); return {tostring(ok), e}" 0`,
		`EVAL "return {1,{err='nested'},3}" 0`,
		`EVAL "return {1,{ok='st'},3}" 0`,
		`EVAL "redis.call = nil" 0`,
		`EVAL "redis.x = 1" 0`,
		`EVAL "string.x = 1" 0`,
		`EVAL "local t = {} t.x = 1 return t.x" 0`,
		`EVAL "return redis.call('get', 1, 2)" 0`,
		`EVAL "return redis.call('set', 'k', 1.5)" 0`,
		`EVAL "return redis.call('get', 'k')" 0`,
		`EVAL "return redis.call('set', 'k', true)" 0`,
		`EVAL "return redis.call('set', 'k', nil)" 0`,
		`EVAL "return redis.pcall('set', 'k', true)" 0`,
		`EVAL "return cjson.encode(cjson.decode('{\"a\":null,\"b\":false}'))" 0`,
		`EVAL "return redis.status_reply()" 0`,
		`EVAL "return redis.error_reply()" 0`,
		`EVAL "return redis.sha1hex()" 0`,
		`EVAL "return redis.log()" 0`,
		`EVAL "return redis.log('x','y')" 0`,
		`EVAL "return redis.log(99,'y')" 0`,
		`EVAL "return redis.setresp(4)" 0`,
		`EVAL "return redis.setresp()" 0`,
		`EVAL "return _G.x" 0`,
		`EVAL "return rawget(_G, 'x')" 0`,
		`EVAL "return math.huge" 0`,
		`EVAL "return -math.huge" 0`,
		`EVAL "return 0/0" 0`,
		`EVAL "return 9007199254740993" 0`,
		`EVAL "return {1.5, -2.7}" 0`,
		`EVAL "return tostring(-0.0)" 0`,
		`EVAL "return string.format('%d %s %5.2f', 3, 'x', 1.234)" 0`,
		`EVAL "return table.concat({1,2,3}, ',')" 0`,
		`EVAL "return type(unpack)" 0`,
		`EVAL "return redis.call('exec')" 0`,
		`EVAL "return redis.call('watch','a')" 0`,
		`EVAL "return redis.call('script','load','return 1')" 0`,
		`EVAL "return redis.call('client','list')" 0`,
		`EVAL "return redis.call('config','get','maxmemory')" 0`,
		`EVAL "return redis.call('hset','h','f','v','g','w')" 0`,
		`EVAL "return redis.call('hgetall','h')" 0`,
		`EVAL "return redis.call('lpush','a','x')" 0`,
		`EVAL "return redis.pcall('lpush','a','x')" 0`,
		`EVAL "return redis.call('zadd','z',1,'a',2.5,'b')" 0`,
		`EVAL "return redis.call('zrange','z',0,-1,'withscores')" 0`,
		`EVAL "return redis.call('del','z','h')" 0`,
		`EVAL "return redis.call('exists','a')" 0`,
		`EVAL "return redis.call('type','a')" 0`,
		`EVAL "return redis.call('TYPE','a')['ok']" 0`,
	}, nil)
}
