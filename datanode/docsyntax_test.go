package datanode

import (
	"strings"
	"testing"
)

// fmtDocArgs renders an argument tree compactly for comparisons:
// name:type with token, flags and children, e.g.
// "condition:oneof?(nx:pure-token=NX xx:pure-token=XX)".
func fmtDocArgs(args []docArg) string {
	parts := make([]string, len(args))
	for i, a := range args {
		s := a.name + ":" + a.typ
		if a.token != "" {
			s += "=" + a.token
		}
		if a.optional {
			s += "?"
		}
		if a.multiple {
			s += "*"
		}
		if a.multipleToken {
			s += "+token"
		}
		if len(a.args) > 0 {
			s += "(" + fmtDocArgs(a.args) + ")"
		}
		parts[i] = s
	}
	return strings.Join(parts, " ")
}

func TestParseDocSyntax(t *testing.T) {
	for _, tc := range []struct{ syntax, want string }{
		{"", ""},
		{"key", "key:key"},
		{"key value", "key:key value:string"},
		{"[message]", "message:string?"},
		{"key [key ...]", "key:key*"},
		{"[key [key ...]]", "key:key?*"},
		{"key value [key value ...]", "key-value:block*(key:key value:string)"},
		{"key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]",
			"key:key value:string nx-xx:oneof?(nx:pure-token=NX xx:pure-token=XX) get:pure-token=GET? " +
				"seconds-milliseconds-unix-time-seconds-unix-time-milliseconds-keepttl:oneof?(seconds:integer=EX milliseconds:integer=PX " +
				"unix-time-seconds:unix-time=EXAT unix-time-milliseconds:unix-time=PXAT keepttl:pure-token=KEEPTTL)"},
		{"[protover [AUTH username password] [SETNAME clientname]]",
			"protover-auth-clientname:block?(protover:integer auth:block=AUTH?(username:string password:string) clientname:string=SETNAME?)"},
		{"[ID client-id [client-id ...]]", "client-id:integer=ID?*"},
		{"[GET pattern [GET pattern ...]]", "pattern:pattern=GET?*+token"},
		{"[TYPE <NORMAL | MASTER>]", "type:oneof=TYPE?(normal:pure-token=NORMAL master:pure-token=MASTER)"},
		{"[FILTERBY <MODULE module-name | ACLCAT category | PATTERN pattern>]",
			"filterby:oneof=FILTERBY?(module-name:string=MODULE category:string=ACLCAT pattern:pattern=PATTERN)"},
		{"[LIMIT offset count]", "limit:block=LIMIT?(offset:integer count:integer)"},
		{"(ON | OFF)", "on-off:oneof(on:pure-token=ON off:pure-token=OFF)"},
		{"<a | <[B b] | [C c]> [<[B b] | [C c]> ...]>",
			"a-b-c:oneof(a:string b-c:oneof*(b:string=B? c:string=C?))"},
		{"[ASYNC | SYNC]", "async-sync:oneof?(async:pure-token=ASYNC sync:pure-token=SYNC)"},
		{"destination numkeys key [key ...]", "destination:key numkeys:integer key:key*"},
	} {
		args, err := parseDocSyntax(tc.syntax)
		if err != nil {
			t.Errorf("parseDocSyntax(%q): %v", tc.syntax, err)
			continue
		}
		if got := fmtDocArgs(args); got != tc.want {
			t.Errorf("parseDocSyntax(%q)\n got: %s\nwant: %s", tc.syntax, got, tc.want)
		}
	}
}

func TestParseDocSyntaxRejects(t *testing.T) {
	for _, syntax := range []string{
		"[key",
		"key]",
		"a | b",
		"[a | ]",
		"key [other ...]",
		"[...]",
		"key ...",
		"<a | b",
		"[[a]]",
	} {
		if args, err := parseDocSyntax(syntax); err == nil {
			t.Errorf("parseDocSyntax(%q) = %s, want an error", syntax, fmtDocArgs(args))
		}
	}
}

// TestCommandTableSyntax checks that every registered command's syntax
// parses, so COMMAND DOCS never drops a command's arguments.
func TestCommandTableSyntax(t *testing.T) {
	var check func(cmd *command)
	check = func(cmd *command) {
		if _, err := parseDocSyntax(cmd.doc.syntax); err != nil {
			t.Errorf("%s: %v", cmd.name, err)
		}
		if cmd.doc.group == "" || cmd.doc.summary == "" || cmd.doc.since == "" || cmd.doc.complexity == "" {
			t.Errorf("%s: incomplete doc %+v", cmd.name, cmd.doc)
		}
		for _, sub := range cmd.subcommands {
			if !strings.HasPrefix(sub.name, cmd.name+"|") {
				t.Errorf("subcommand %q of %q is not named %s|...", sub.name, cmd.name, cmd.name)
			}
			check(sub)
		}
	}
	for _, cmd := range buildCommandTable() {
		check(cmd)
	}
}
