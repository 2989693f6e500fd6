package datanode

import (
	"fmt"
	"strings"
)

// docArg is one node of a command's argument tree, as COMMAND DOCS reports
// it and redis-cli renders its hints from.
type docArg struct {
	name          string
	typ           string // key, string, integer, double, pattern, unix-time, pure-token, oneof, block
	token         string // the literal word that introduces the argument, if any
	optional      bool
	multiple      bool
	multipleToken bool   // the token is repeated with each repetition
	since         string // the version that added the argument, if later than the command
	keySpec       int    // a key's key spec index
	patternKeys   bool   // a pattern naming keys, described by key spec keySpec (SORT's BY and GET)
	args          []docArg
}

// Argument types of COMMAND DOCS.
const (
	argKey       = "key"
	argString    = "string"
	argInteger   = "integer"
	argDouble    = "double"
	argPattern   = "pattern"
	argUnixTime  = "unix-time"
	argPureToken = "pure-token"
	argOneOf     = "oneof"
	argBlock     = "block"
)

// parseDocSyntax converts argument syntax as Redis's documentation writes it,
// e.g. "key value [NX | XX] [EX seconds | PX milliseconds | KEEPTTL]", into
// the argument tree of COMMAND DOCS.
//
// The notation: UPPER-CASE words are tokens, lower-case words are argument
// names; [ ] encloses an optional part, ( ) or < > a required group, |
// separates alternatives, and "x [x ...]" marks x as repeatable (with its
// token repeated too in "[TOKEN x [TOKEN x ...]]").
func parseDocSyntax(syntax string) ([]docArg, error) {
	p := &synParser{toks: lexSyntax(syntax)}
	if len(p.toks) == 0 {
		return nil, nil
	}
	alts, err := p.alternatives()
	if err != nil {
		return nil, fmt.Errorf("syntax %q: %w", syntax, err)
	}
	if p.pos < len(p.toks) {
		return nil, fmt.Errorf("syntax %q: unexpected %q", syntax, p.toks[p.pos])
	}
	if len(alts) != 1 {
		return nil, fmt.Errorf("syntax %q: alternatives outside brackets", syntax)
	}
	args, err := convertSeq(alts[0])
	if err != nil {
		return nil, fmt.Errorf("syntax %q: %w", syntax, err)
	}
	return args, nil
}

// lexSyntax splits syntax text into brackets, bars, ellipses and words.
func lexSyntax(s string) []string {
	var toks []string
	for i := 0; i < len(s); {
		switch ch := s[i]; {
		case ch == ' ' || ch == '\t' || ch == '\n':
			i++
		case strings.HasPrefix(s[i:], "..."):
			toks = append(toks, "...")
			i += 3
		case strings.IndexByte("[]()<>|", ch) >= 0:
			toks = append(toks, s[i:i+1])
			i++
		default:
			j := i
			for j < len(s) && strings.IndexByte(" \t\n[]()<>|", s[j]) < 0 && !strings.HasPrefix(s[j:], "...") {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks
}

// synNode is a node of the parsed notation, before conversion to docArgs.
type synNode struct {
	kind byte        // 'w' word, '[' optional, '(' group, '.' ellipsis, 'r' repetition
	word string      // for 'w'
	alts [][]synNode // for '[' and '('; for 'r' the single repeated sequence
}

type synParser struct {
	toks []string
	pos  int
}

// alternatives parses sequences separated by '|' up to a closing bracket or
// the end.
func (p *synParser) alternatives() ([][]synNode, error) {
	var alts [][]synNode
	for {
		seq, err := p.sequence()
		if err != nil {
			return nil, err
		}
		if len(seq) == 0 {
			return nil, fmt.Errorf("empty alternative")
		}
		alts = append(alts, seq)
		if p.pos < len(p.toks) && p.toks[p.pos] == "|" {
			p.pos++
			continue
		}
		return alts, nil
	}
}

func (p *synParser) sequence() ([]synNode, error) {
	var seq []synNode
	for p.pos < len(p.toks) {
		tok := p.toks[p.pos]
		switch tok {
		case "|", "]", ")", ">":
			return seq, nil
		case "...":
			p.pos++
			seq = append(seq, synNode{kind: '.'})
		case "[", "(", "<":
			p.pos++
			alts, err := p.alternatives()
			if err != nil {
				return nil, err
			}
			closing := map[string]string{"[": "]", "(": ")", "<": ">"}[tok]
			if p.pos >= len(p.toks) || p.toks[p.pos] != closing {
				return nil, fmt.Errorf("missing %q", closing)
			}
			p.pos++
			kind := byte('(')
			if tok == "[" {
				kind = '['
			}
			seq = append(seq, synNode{kind: kind, alts: alts})
		default:
			p.pos++
			seq = append(seq, synNode{kind: 'w', word: tok})
		}
	}
	return seq, nil
}

// render prints nodes back in canonical notation, to compare them.
func render(seq []synNode) string {
	var parts []string
	for _, n := range seq {
		switch n.kind {
		case 'w':
			parts = append(parts, n.word)
		case '.':
			parts = append(parts, "...")
		case 'r':
			parts = append(parts, "rep("+render(n.alts[0])+")")
		default:
			alts := make([]string, len(n.alts))
			for i, a := range n.alts {
				alts[i] = render(a)
			}
			parts = append(parts, string(n.kind)+strings.Join(alts, "|")+")")
		}
	}
	return strings.Join(parts, " ")
}

// isToken reports whether a word is a literal token (no lower-case letters)
// rather than an argument name.
func isToken(word string) bool {
	return strings.ToLower(word) != word || word == "*"
}

// foldRepetitions replaces "x y [x y ...]" in seq with a repetition node of
// "x y".
func foldRepetitions(seq []synNode) ([]synNode, error) {
	var out []synNode
	for _, n := range seq {
		if n.kind == '.' {
			return nil, fmt.Errorf("\"...\" outside \"[x ...]\"")
		}
		if n.kind != '[' || len(n.alts) != 1 {
			out = append(out, n)
			continue
		}
		inner := n.alts[0]
		if inner[len(inner)-1].kind != '.' {
			out = append(out, n)
			continue
		}
		inner = inner[:len(inner)-1]
		k := len(inner)
		if k == 0 || k > len(out) || render(out[len(out)-k:]) != render(inner) {
			return nil, fmt.Errorf("%q does not repeat what precedes it", "["+render(n.alts[0])+"]")
		}
		rep := append([]synNode(nil), out[len(out)-k:]...)
		out = append(out[:len(out)-k], synNode{kind: 'r', alts: [][]synNode{rep}})
	}
	return out, nil
}

// convertSeq converts a sequence of notation nodes into arguments.
func convertSeq(seq []synNode) ([]docArg, error) {
	seq, err := foldRepetitions(seq)
	if err != nil {
		return nil, err
	}
	var args []docArg
	for i := 0; i < len(seq); i++ {
		n := seq[i]
		if n.kind == 'w' && isToken(n.word) {
			// A token takes the plain arguments that follow it.
			j := i + 1
			for j < len(seq) && takesValue(seq[j]) {
				j++
			}
			values, err := convertSeq(seq[i+1 : j])
			if err != nil {
				return nil, err
			}
			switch len(values) {
			case 0:
				args = append(args, docArg{name: strings.ToLower(n.word), typ: argPureToken, token: n.word})
			case 1:
				if values[0].typ == argOneOf || values[0].typ == argBlock {
					values[0].name = strings.ToLower(n.word) // name a group after its token
				}
				values[0].token = n.word
				args = append(args, values[0])
			default:
				args = append(args, docArg{name: strings.ToLower(n.word), typ: argBlock, token: n.word, args: values})
			}
			i = j - 1
			continue
		}
		arg, err := convertNode(n)
		if err != nil {
			return nil, err
		}
		args = append(args, arg)
	}
	return args, nil
}

// takesValue reports whether n is an argument a preceding token
// introduces: a name, a repetition of names or a required group.
func takesValue(n synNode) bool {
	switch n.kind {
	case 'w':
		return !isToken(n.word)
	case '(':
		return true
	case 'r':
		first := n.alts[0][0]
		return first.kind == 'w' && !isToken(first.word)
	}
	return false
}

// convertNode converts one node that is not a token into one argument.
func convertNode(n synNode) (docArg, error) {
	switch n.kind {
	case 'w':
		return docArg{name: n.word, typ: inferArgType(n.word)}, nil
	case 'r':
		arg, err := convertGroup(n.alts)
		if err != nil {
			return docArg{}, err
		}
		if arg.multiple {
			return docArg{}, fmt.Errorf("nested repetition in %q", render(n.alts[0]))
		}
		arg.multiple = true
		if first := n.alts[0][0]; first.kind == 'w' && isToken(first.word) && arg.token != "" {
			arg.multipleToken = true
		}
		return arg, nil
	case '[':
		arg, err := convertGroup(n.alts)
		if err != nil {
			return docArg{}, err
		}
		if arg.optional {
			return docArg{}, fmt.Errorf("nested optional %q", render([]synNode{n}))
		}
		arg.optional = true
		return arg, nil
	case '(':
		return convertGroup(n.alts)
	}
	return docArg{}, fmt.Errorf("unexpected %q", render([]synNode{n}))
}

// convertGroup converts bracketed alternatives into one argument: the single
// argument they hold, a block of several, or a oneof of the alternatives.
func convertGroup(alts [][]synNode) (docArg, error) {
	var members []docArg
	for _, alt := range alts {
		args, err := convertSeq(alt)
		if err != nil {
			return docArg{}, err
		}
		if len(args) == 1 {
			members = append(members, args[0])
		} else {
			members = append(members, docArg{name: joinNames(args), typ: argBlock, args: args})
		}
	}
	if len(members) == 1 {
		return members[0], nil
	}
	return docArg{name: joinNames(members), typ: argOneOf, args: members}, nil
}

// joinNames names an unnamed block or oneof after its members.
func joinNames(args []docArg) string {
	names := make([]string, len(args))
	for i, a := range args {
		names[i] = a.name
	}
	return strings.Join(names, "-")
}

// inferArgType guesses an argument's type from its name, as Redis's
// documentation names arguments.
func inferArgType(name string) string {
	switch {
	case name == "key" || name == "destination" || name == "source" || name == "newkey" || strings.HasSuffix(name, "-key"):
		return argKey
	case strings.HasPrefix(name, "unix-time"):
		return argUnixTime
	case name == "pattern":
		return argPattern
	case name == "float":
		return argDouble
	}
	switch name {
	case "seconds", "milliseconds", "count", "offset", "start", "end", "index", "timeout",
		"port", "slot", "numkeys", "client-id", "db", "increment", "decrement", "protover",
		"numslots", "start-slot", "end-slot", "length", "limit", "bit":
		return argInteger
	}
	return argString
}
