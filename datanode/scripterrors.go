package datanode

import (
	"regexp"
	"strings"
)

// Lua 5.1's runtime error texts for gopher-lua's, where the message alone
// allows it: a script's errors then read as Redis's. Where Lua 5.1 names
// the variable involved ("attempt to index local 'x' (a nil value)"),
// gopher-lua's messages do not carry it and the texts still differ.

var (
	reBadArgument = regexp.MustCompile(`bad argument #(-?\d+) to ([A-Za-z_][A-Za-z0-9_]*) \(`)
	reArith       = regexp.MustCompile(`cannot perform (add|sub|mul|div|mod|pow|unm) operation between (\w+) and (\w+)`)
	reConcat      = regexp.MustCompile(`cannot perform concat operation between (\w+) and (\w+)`)
	reIndex       = regexp.MustCompile(`attempt to index a non-table object\((\w+)\) with key '(?:[^']*)'`)
	reConcatValue = regexp.MustCompile(`(invalid value \(\w+\) at index \d+ in table for) concat\b`)
)

// luaErrorText rewrites gopher-lua's texts in a runtime error message to
// Lua 5.1's.
func luaErrorText(msg string) string {
	if !strings.Contains(msg, "bad argument") && !strings.Contains(msg, "cannot perform") &&
		!strings.Contains(msg, "non-table object") && !strings.Contains(msg, "for concat") {
		return msg
	}
	msg = reBadArgument.ReplaceAllString(msg, "bad argument #$1 to '$2' (")
	msg = reArith.ReplaceAllStringFunc(msg, func(m string) string {
		p := reArith.FindStringSubmatch(m)
		operand := p[2]
		if operand == "number" {
			operand = p[3]
		}
		return "attempt to perform arithmetic on a " + operand + " value"
	})
	msg = reConcat.ReplaceAllStringFunc(msg, func(m string) string {
		p := reConcat.FindStringSubmatch(m)
		operand := p[1]
		if operand == "number" || operand == "string" {
			operand = p[2]
		}
		return "attempt to concatenate a " + operand + " value"
	})
	msg = reIndex.ReplaceAllString(msg, "attempt to index a $1 value")
	return reConcatValue.ReplaceAllString(msg, "$1 'concat'")
}
