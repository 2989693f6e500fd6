package datanode

import "testing"

// TestScriptErrorTextsAgainstRedis compares runtime error texts that
// luaErrorText rewrites to Lua 5.1's with redis-server's. Differences
// left (not in the script): Lua 5.1 names the variable involved ("attempt
// to index local 'x' (a nil value)", "attempt to call field 'f' (a nil
// value)"), gopher-lua gives "attempt to index a nil value" and "attempt
// to call a non-function object"; "#nil" and "-{}" give "__len undefined"
// and "__unm undefined"; a missing argument is "got nil", not "got no
// value"; error('x', 2) at top level keeps a position; setmetatable(1,
// {}) and string.format('%d', 'x') do not fail; compile errors are
// gopher-lua's ("user_script at EOF: syntax error").
func TestScriptErrorTextsAgainstRedis(t *testing.T) {
	diffAgainstRedis(t, []string{
		`EVAL "return nil + 1" 0`,
		`EVAL "return 1 + {}" 0`,
		`EVAL "return {} + 1" 0`,
		`EVAL "return 'a' + 1" 0`,
		`EVAL "return {} .. 'a'" 0`,
		`EVAL "return 1 .. {}" 0`,
		`EVAL "return (nil).x" 0`,
		`EVAL "return math.floor('a')" 0`,
		`EVAL "return tonumber()" 0`,
		`EVAL "return table.concat({{}})" 0`,
		`EVAL "return tostring(nil) .. nil" 0`,
		`EVAL "error()" 0`,
		`EVAL "error(nil)" 0`,
		`EVAL "error('x', 0)" 0`,
		`EVAL "assert(false)" 0`,
		`EVAL "assert(false, 'msg')" 0`,
		`FUNCTION LOAD "#!lua name=e\nredis.register_function('e', function() return nil + 1 end)"`,
		`FCALL e 0`,
		`FUNCTION LOAD "#!lua name=e2\nlocal x = {} .. 'a'"`,
	}, nil)
}
