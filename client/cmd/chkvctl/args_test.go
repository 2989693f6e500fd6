package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/common/cliconf"
	"github.com/chkv/chkv/common/slot"
)

// parsed is what a command's action saw of its command line.
type parsed struct {
	cmd  string
	args []string
	// Every global flag and every flag of the command, by name, as the
	// command reads it.
	flags map[string]string
}

// parseLine runs chkvctl on args as main does, with every command's
// action replaced by one that records what it was given, and returns that,
// the app's output and its error.
func parseLine(t *testing.T, args ...string) (parsed, string, error) {
	t.Helper()
	var out, errOut syncBuffer
	app := newApp(&out, &errOut)
	var p parsed
	for _, c := range app.Commands {
		c.Action = func(cc *cli.Context) error {
			p = parsed{cmd: cc.Command.Name, args: cc.Args().Slice(), flags: map[string]string{}}
			for _, f := range flags() {
				n := f.Names()[0]
				p.flags[n] = cc.String(n)
			}
			for _, f := range cc.Command.Flags {
				n := f.Names()[0]
				p.flags[n] = fmt.Sprint(cc.Value(n))
			}
			return nil
		}
	}
	err := runApp(context.Background(), app, append([]string{"chkvctl"}, args...))
	return p, out.String() + errOut.String(), err
}

// mustParse parses args, failing the test on an error or a usage message.
func mustParse(t *testing.T, args ...string) parsed {
	t.Helper()
	p, out, err := parseLine(t, args...)
	if err != nil || strings.Contains(out, "Incorrect Usage") {
		t.Fatalf("chkvctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	if p.cmd == "" {
		t.Fatalf("chkvctl %s: no command ran\n%s", strings.Join(args, " "), out)
	}
	return p
}

// check fails unless p ran cmd with args and the flags of want.
func (p parsed) check(t *testing.T, line []string, cmd string, args []string, want map[string]string) {
	t.Helper()
	if p.cmd != cmd || !reflect.DeepEqual(p.args, args) && (len(p.args) != 0 || len(args) != 0) {
		t.Errorf("chkvctl %s: ran %s %q, want %s %q", strings.Join(line, " "), p.cmd, p.args, cmd, args)
	}
	for name, v := range want {
		if p.flags[name] != v {
			t.Errorf("chkvctl %s: --%s = %q, want %q", strings.Join(line, " "), name, p.flags[name], v)
		}
	}
}

// orderings returns every command line of cmd with args (in their order)
// and the flag groups placed anywhere among them: each global group before
// the command or after it, before any argument or at the end, and each
// command group after the command, before any argument or at the end.
// Groups placed at the same spot come in the order given, or reversed.
func orderings(cmd string, args []string, global, local [][]string) [][]string {
	groups := append(append([][]string{}, global...), local...)
	slots := len(args) + 1 // after the command: before args[i], or at the end
	var lines [][]string
	place := make([]int, len(groups)) // slot of each group; -1: before the command
	for i := range global {
		place[i] = -1
	}
	for {
		for _, reversed := range []bool{false, true} {
			at := func(slot int) []string {
				var out []string
				for k := range groups {
					g := k
					if reversed {
						g = len(groups) - 1 - k
					}
					if place[g] == slot {
						out = append(out, groups[g]...)
					}
				}
				return out
			}
			line := append(at(-1), cmd)
			for s := 0; s < slots; s++ {
				line = append(line, at(s)...)
				if s < len(args) {
					line = append(line, args[s])
				}
			}
			lines = append(lines, line)
		}
		// The next placement, counting in mixed radix.
		k := 0
		for ; k < len(groups); k++ {
			if place[k]++; place[k] < slots {
				break
			}
			place[k] = 0
			if k < len(global) {
				place[k] = -1
			}
		}
		if k == len(groups) {
			return lines
		}
	}
}

func TestFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		cmd           string
		args          []string
		global, local [][]string
		want          map[string]string
	}{
		{cmd: "status", global: [][]string{{"--output", "json"}, {"--namenodes", "a:1,b:2"}, {"--timeout=2s"}},
			want: map[string]string{flagOutput: "json", flagNameNodes: "a:1,b:2", flagTimeout: "2s"}},
		{cmd: "ring", global: [][]string{{"-output", "json"}, {"--cluster-token=tok"}},
			want: map[string]string{flagOutput: "json", flagClusterToken: "tok"}},
		{cmd: "watch", global: [][]string{{"--output=json"}, {"--password", "pw"}},
			want: map[string]string{flagOutput: "json", flagPassword: "pw"}},
		{cmd: "get", args: []string{"k"}, global: [][]string{{"--output", "json"}, {"--namenodes", "x:1"}},
			want: map[string]string{flagOutput: "json", flagNameNodes: "x:1"}},
		{cmd: "set", args: []string{"k", "v"}, global: [][]string{{"--output", "json"}, {"--timeout", "1s"}},
			local: [][]string{{"--ttl", "10s"}, {"--nx"}},
			want:  map[string]string{flagOutput: "json", flagTimeout: "1s", flagTTL: "10s", flagNX: "true", flagXX: "false"}},
		{cmd: "set", args: []string{"k", "v"}, global: [][]string{{"--output=json"}},
			local: [][]string{{"-ttl=1m0s"}, {"--xx=true"}},
			want:  map[string]string{flagOutput: "json", flagTTL: "1m0s", flagNX: "false", flagXX: "true"}},
		{cmd: "del", args: []string{"a", "b", "c"}, global: [][]string{{"--output", "json"}},
			want: map[string]string{flagOutput: "json"}},
		{cmd: "drain", args: []string{"dn-2"}, global: [][]string{{"--output", "json"}, {"--timeout", "9s"}},
			local: [][]string{{"--no-wait"}, {"--force"}},
			want:  map[string]string{flagOutput: "json", flagTimeout: "9s", flagNoWait: "true", flagForce: "true"}},
		{cmd: "undrain", args: []string{"dn-2"}, global: [][]string{{"--output", "json"}, {"--timeout", "3s"}},
			want: map[string]string{flagOutput: "json", flagTimeout: "3s"}},
		{cmd: "remove", args: []string{"127.0.0.1:10200"}, global: [][]string{{"--cluster-token", "s"}, {"--output", "json"}},
			want: map[string]string{flagClusterToken: "s", flagOutput: "json"}},
		{cmd: "recover", global: [][]string{{"--output", "json"}}, local: [][]string{{"--accept-data-loss"}},
			want: map[string]string{flagOutput: "json", flagAcceptDataLoss: "true"}},
		{cmd: "bench", global: [][]string{{"--output", "json"}, {"--namenodes", "a:1"}},
			local: [][]string{{"-c", "10"}, {"--duration=3s"}, {"-P", "4"}, {"--read-ratio", "0.8"}},
			want: map[string]string{flagOutput: "json", flagNameNodes: "a:1", flagConcurrency: "10", flagDuration: "3s",
				flagPipeline: "4", flagReadRatio: "0.8", flagRequests: "100000"}},
	} {
		t.Run(tc.cmd, func(t *testing.T) {
			lines := orderings(tc.cmd, tc.args, tc.global, tc.local)
			for _, line := range lines {
				mustParse(t, line...).check(t, line, tc.cmd, tc.args, tc.want)
			}
			t.Logf("%d orderings", len(lines))
		})
	}
}

// The orderings cover what the issue names: global flags after the
// command, command flags after the arguments, and the usual order.
func TestOrderingsCoverTheCases(t *testing.T) {
	lines := orderings("set", []string{"k", "v"}, [][]string{{"--output", "json"}}, [][]string{{"--ttl", "10s"}})
	var got []string
	for _, l := range lines {
		got = append(got, strings.Join(l, " "))
	}
	for _, want := range []string{
		"--output json set --ttl 10s k v",
		"set k v --ttl 10s --output json",
		"set k --output json v --ttl 10s",
		"set --ttl 10s --output json k v",
	} {
		found := false
		for _, g := range got {
			found = found || g == want
		}
		if !found {
			t.Errorf("orderings miss %q: %q", want, got)
		}
	}
}

func TestDoubleDashEndsFlags(t *testing.T) {
	for _, tc := range []struct {
		line []string
		cmd  string
		args []string
		want map[string]string
	}{
		{[]string{"set", "--", "--weird-key", "v"}, "set", []string{"--weird-key", "v"}, nil},
		{[]string{"set", "--ttl", "10s", "--", "-k", "--output"}, "set", []string{"-k", "--output"},
			map[string]string{flagTTL: "10s", flagOutput: outputTable}},
		{[]string{"set", "k", "--", "--nx"}, "set", []string{"k", "--nx"}, map[string]string{flagNX: "false"}},
		{[]string{"set", "k", "--nx", "--", "-1"}, "set", []string{"k", "-1"}, map[string]string{flagNX: "true"}},
		{[]string{"set", "--", "k", "v", "--ttl", "10s"}, "set", []string{"k", "v", "--ttl", "10s"}, map[string]string{flagTTL: "0s"}},
		{[]string{"--output", "json", "get", "--", "--output"}, "get", []string{"--output"}, map[string]string{flagOutput: "json"}},
		{[]string{"get", "--", "-"}, "get", []string{"-"}, nil},
		{[]string{"get", "-"}, "get", []string{"-"}, nil}, // "-" is an argument, as in Go's flag package
		{[]string{"del", "--", "--"}, "del", []string{"--"}, nil},
		{[]string{"del", "a", "--", "-b", "--", "c"}, "del", []string{"a", "-b", "--", "c"}, nil},
		{[]string{"--timeout", "1s", "--", "get", "-x"}, "get", []string{"-x"}, map[string]string{flagTimeout: "1s"}},
		{[]string{"drain", "--", "-dn"}, "drain", []string{"-dn"}, map[string]string{flagNoWait: "false"}},
		// A flag's value may look like a flag or a command.
		{[]string{"--password", "--nx", "set", "k", "v"}, "set", []string{"k", "v"}, map[string]string{flagPassword: "--nx", flagNX: "false"}},
		{[]string{"--namenodes", "status", "get", "k"}, "get", []string{"k"}, map[string]string{flagNameNodes: "status"}},
		{[]string{"bench", "--key-prefix", "-x", "--output", "json"}, "bench", nil, map[string]string{flagKeyPrefix: "-x", flagOutput: "json"}},
	} {
		mustParse(t, tc.line...).check(t, tc.line, tc.cmd, tc.args, tc.want)
	}
}

func TestBadFlagsAreClearErrors(t *testing.T) {
	for _, tc := range []struct {
		line []string
		want []string // in the error
	}{
		{[]string{"set", "k", "v", "--bogus"}, []string{`unknown flag --bogus for set`, `"--"`}},
		{[]string{"set", "k", "-1"}, []string{`unknown flag -1 for set`, `chkvctl set -- -1`}},
		{[]string{"get", "-x"}, []string{`unknown flag -x for get`, `chkvctl get -- -x`}},
		{[]string{"drain", "dn-1", "--accept-data-loss"}, []string{`unknown flag --accept-data-loss for drain`}},
		{[]string{"status", "--ttl", "1s"}, []string{`unknown flag --ttl for status`}},
		{[]string{"--bogus", "status"}, []string{`unknown flag --bogus`}},
		{[]string{"--ttl", "10s", "set", "k", "v"}, []string{`flag --ttl is a flag of set: give it after the command`}},
		{[]string{"status", "--output"}, []string{`flag --output needs a value`}},
		{[]string{"set", "k", "v", "--ttl"}, []string{`flag --ttl needs a value`}},
		{[]string{"stauts", "--output", "json"}, []string{`unknown command "stauts"`, "status"}},
		{[]string{"--", "stauts"}, []string{`unknown command "stauts"`}},
		{[]string{"set", "k", "v", "--ttl", "soon"}, []string{`invalid value "soon" for flag -ttl`}},
		{[]string{"set", "k", "v", "--nx=maybe"}, []string{`invalid boolean value "maybe" for -nx`}},
		{[]string{"set", "---ttl", "1s", "k", "v"}, []string{`unknown flag ---ttl for set`}},
		{[]string{"status", "extra"}, []string{`status takes no arguments, got ["extra"]`}},
		{[]string{"ring", "--output", "json", "extra"}, []string{`ring takes no arguments`}},
		{[]string{"watch", "--", "--output"}, []string{`watch takes no arguments`}},
		{[]string{"bench", "-c", "5", "10000"}, []string{`bench takes no arguments`}},
		{[]string{"recover", "now", "--accept-data-loss"}, []string{`recover takes no arguments`}},
	} {
		_, _, err := run(context.Background(), tc.line...)
		if err == nil {
			t.Errorf("chkvctl %s: no error", strings.Join(tc.line, " "))
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("chkvctl %s: error %q, want it to say %q", strings.Join(tc.line, " "), err, w)
			}
		}
	}
	// A bad value of a global flag after the command is refused before any
	// call is made.
	if _, _, err := run(context.Background(), "status", "--output", "yaml"); err == nil || !strings.Contains(err.Error(), `--output "yaml"`) {
		t.Errorf("status --output yaml: %v", err)
	}
	if _, _, err := run(context.Background(), "get", "k", "--timeout", "-1s"); err == nil || !strings.Contains(err.Error(), `--timeout "-1s"`) {
		t.Errorf("get k --timeout -1s: %v", err)
	}
}

func TestHelpAnywhere(t *testing.T) {
	for _, line := range [][]string{{"set", "--help"}, {"set", "k", "v", "--help"}, {"set", "-h"}, {"help", "set"}} {
		out, _, err := run(context.Background(), line...)
		if err != nil || !strings.Contains(out, "chkvctl set") || !strings.Contains(out, "--ttl") {
			t.Errorf("chkvctl %s: %v\n%s", strings.Join(line, " "), err, out)
		}
	}
	out, _, err := run(context.Background(), "--help")
	if err != nil || !strings.Contains(out, "--namenodes") || !strings.Contains(out, "drain") {
		t.Errorf("chkvctl --help: %v\n%s", err, out)
	}
}

// A global flag after the command keeps its precedence: flag > CHKV_*
// variable > --config file > default.
func TestGlobalFlagAfterCommandKeepsPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "chkvctl.yaml")
	if err := os.WriteFile(file, []byte("output: json\ntimeout: 7s\nnamenodes: file:1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		line []string
		want map[string]string
	}{
		{nil, []string{"status"}, map[string]string{flagOutput: outputTable, flagTimeout: "5s", flagNameNodes: defaultNameNodes}},
		{nil, []string{"status", "--config", file}, map[string]string{flagOutput: "json", flagTimeout: "7s", flagNameNodes: "file:1"}},
		{nil, []string{"set", "k", "v", "--config=" + file, "--timeout", "2s"}, map[string]string{flagOutput: "json", flagTimeout: "2s"}},
		{map[string]string{flagTimeout: "3s"}, []string{"status", "--config", file}, map[string]string{flagTimeout: "3s", flagOutput: "json"}},
		{map[string]string{flagTimeout: "3s"}, []string{"status", "--config", file, "--timeout", "4s"}, map[string]string{flagTimeout: "4s"}},
		{map[string]string{flagOutput: "json"}, []string{"status", "--output", "table"}, map[string]string{flagOutput: "table"}},
		{map[string]string{cliconf.ConfigFlagName: file}, []string{"get", "k", "--namenodes", "flag:1"}, map[string]string{flagNameNodes: "flag:1", flagTimeout: "7s"}},
		// Of a flag given twice, the last counts, wherever each is.
		{nil, []string{"--output", "json", "status", "--output", "table"}, map[string]string{flagOutput: "table"}},
		{nil, []string{"status", "--output", "table", "--output=json"}, map[string]string{flagOutput: "json"}},
	} {
		t.Run(strings.ReplaceAll(strings.Join(tc.line, " "), file, "FILE"), func(t *testing.T) {
			for name, v := range tc.env {
				t.Setenv(cliconf.EnvVar(name), v)
			}
			p := mustParse(t, tc.line...)
			for name, v := range tc.want {
				if p.flags[name] != v {
					t.Errorf("--%s = %q, want %q", name, p.flags[name], v)
				}
			}
		})
	}
}

// Moving a flag is unambiguous only if no command has a flag of the same
// name as a global one (--help aside, which each command answers itself).
func TestCommandFlagsDoNotShadowGlobalOnes(t *testing.T) {
	app := newApp(nil, nil)
	app.Setup()
	global := specOf(flags(), false)
	for _, c := range app.Commands {
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				if global.has(n) {
					t.Errorf("%s --%s is also a global flag", c.Name, n)
				}
			}
		}
	}
	// Every flag says whether it takes a value; normalizeArgs needs it.
	for _, c := range app.Commands {
		for _, f := range append(append([]cli.Flag{}, app.Flags...), c.Flags...) {
			if _, ok := f.(interface{ TakesValue() bool }); !ok {
				t.Errorf("--%s: no TakesValue", f.Names()[0])
			}
		}
	}
}

// placeholder matches an optional group of a synopsis: [--force], [--nx|--xx].
var placeholder = regexp.MustCompile(`\[([^\[\]]*)\]`)

// variants expands a synopsis line into command lines: without its
// optional groups, and with all of them, taking each alternative of a
// group in turn.
func variants(line string) [][]string {
	groups := placeholder.FindAllStringSubmatch(line, -1)
	if len(groups) == 0 {
		return [][]string{strings.Fields(line)}
	}
	most := 1
	for _, g := range groups {
		most = max(most, len(strings.Split(g[1], "|")))
	}
	out := [][]string{strings.Fields(placeholder.ReplaceAllString(line, ""))}
	for k := range most {
		i := 0
		filled := placeholder.ReplaceAllStringFunc(line, func(string) string {
			alts := strings.Split(groups[i][1], "|")
			i++
			return strings.TrimSpace(alts[min(k, len(alts)-1)])
		})
		out = append(out, strings.Fields(filled))
	}
	return out
}

// commandLine matches a chkvctl command line in documentation: the words
// after chkvctl (or bin/chkvctl) up to a comment, "&&" or the end of a code
// span.
var commandLine = regexp.MustCompile("(?:^|[\\s`])(?:bin/)?chkvctl((?:[ \\t]+[^\\s`#&]+)*)")

// documentedLines returns the chkvctl command lines of the code blocks and
// code spans of a Markdown or shell file.
func documentedLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var code []string // lines of code blocks, and code spans
	var prose strings.Builder
	spans := func() { // the code spans of the prose so far, which may break across lines
		parts := strings.Split(prose.String(), "`")
		for i := 1; i < len(parts); i += 2 {
			code = append(code, strings.ReplaceAll(parts[i], "\n", " "))
		}
		prose.Reset()
	}
	inBlock := !strings.HasSuffix(path, ".md") // a script is all code
	for _, l := range strings.Split(string(b), "\n") {
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "```"):
			if !inBlock {
				spans()
			}
			inBlock = !inBlock
		case inBlock:
			code = append(code, l)
		default:
			prose.WriteString(l + "\n")
		}
	}
	spans()
	var lines []string
	for _, c := range code {
		for _, m := range commandLine.FindAllStringSubmatch(c, -1) {
			if words := strings.TrimSpace(m[1]); words != "" {
				lines = append(lines, words)
			}
		}
	}
	return lines
}

// Every chkvctl command line README.md and `make run` print parses as
// printed: no unknown flag, no usage error. Placeholders (NODE, KEY, <node>)
// stand for arguments as they are.
func TestDocumentedCommandLinesParse(t *testing.T) {
	seen := map[string]bool{}
	for _, path := range []string{"../../../README.md", "../../../helper/run-local.sh"} {
		lines := documentedLines(t, path)
		if len(lines) < 8 {
			t.Fatalf("%s: only %d chkvctl command lines found: %q", path, len(lines), lines)
		}
		t.Logf("%s: %q", path, lines)
		for _, l := range lines {
			for _, v := range variants(strings.ReplaceAll(l, "...", "")) {
				if len(v) == 0 {
					continue
				}
				p := mustParse(t, v...)
				seen[p.cmd] = true
				// Each flag was taken as one, not as an argument.
				for _, a := range p.args {
					if strings.HasPrefix(a, "-") && !slices.Contains(v, "--") {
						t.Errorf("%s: chkvctl %s: %s taken as an argument", path, strings.Join(v, " "), a)
					}
				}
			}
		}
	}
	for _, c := range []string{"status", "ring", "watch", "drain", "undrain", "remove", "recover", "bench", "set", "get", "del"} {
		if !seen[c] {
			t.Errorf("no documented command line runs %s", c)
		}
	}
}

// The documentation extractor finds what a reader sees.
func TestDocumentedLinesExtractor(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "x.md")
	text := "Run `chkvctl drain <node>` or `chkvctl` alone; cmd/chkvctl/ is its code, and `chkvctl get\nk` too.\n" +
		"```sh\nchkvctl set KEY VALUE [--ttl 10s] [--nx|--xx]   # a comment\n" +
		"$ chkvctl bench -c 50 -n 200000 --read-ratio 0.8\n" +
		"bin/chkvctl set answer 42 && bin/chkvctl get answer\n" +
		"  cmd/chkvctl/       the operator CLI\n```\n"
	if err := os.WriteFile(md, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{"drain <node>", "get k", "set KEY VALUE [--ttl 10s] [--nx|--xx]", "bench -c 50 -n 200000 --read-ratio 0.8",
		"set answer 42", "get answer"}
	if got := documentedLines(t, md); !reflect.DeepEqual(got, want) {
		t.Errorf("documentedLines = %q, want %q", got, want)
	}
	gotV := variants("set KEY VALUE [--ttl 10s] [--nx|--xx]")
	wantV := [][]string{{"set", "KEY", "VALUE"}, {"set", "KEY", "VALUE", "--ttl", "10s", "--nx"}, {"set", "KEY", "VALUE", "--ttl", "10s", "--xx"}}
	if !reflect.DeepEqual(gotV, wantV) {
		t.Errorf("variants = %q, want %q", gotV, wantV)
	}
}

// Against a cluster: the flags as users type them reach the DataNodes.
func TestFlagsAsUsersTypeThemEndToEnd(t *testing.T) {
	f := newFixture(t, "")
	ctx := context.Background()
	nn := "--namenodes=" + f.nn.Addr()
	if out, _, err := run(ctx, "set", "greeting", "hello", "--ttl", "10s", nn); err != nil || out != "OK\n" {
		t.Fatalf("set greeting hello --ttl 10s: %q, %v", out, err)
	}
	owner := f.addrs[slot.OfString("greeting")*3/slot.Count]
	rc := redis.NewClient(&redis.Options{Addr: owner, Protocol: 2, DisableIdentity: true})
	defer rc.Close()
	if d, err := rc.TTL(ctx, "greeting").Result(); err != nil || d <= 0 || d > 10*time.Second {
		t.Fatalf("TTL on the owner = %v, %v", d, err)
	}
	if _, _, err := run(ctx, "set", "greeting", "again", nn, "--nx"); err == nil || !strings.Contains(err.Error(), "condition not met") {
		t.Fatalf("set greeting again --nx: %v", err)
	}
	if out, _, err := run(ctx, "get", "greeting", "--output", "json", nn); err != nil || !strings.Contains(out, `"value": "hello"`) {
		t.Fatalf("get greeting --output json: %q, %v", out, err)
	}
	// A key and a value that look like flags, after --.
	if _, _, err := run(ctx, nn, "set", "--", "--weird-key", "--ttl"); err != nil {
		t.Fatalf("set -- --weird-key --ttl: %v", err)
	}
	weirdOwner := f.addrs[slot.OfString("--weird-key")*3/slot.Count]
	wc := redis.NewClient(&redis.Options{Addr: weirdOwner, Protocol: 2, DisableIdentity: true})
	defer wc.Close()
	if v, err := wc.Get(ctx, "--weird-key").Result(); err != nil || v != "--ttl" {
		t.Fatalf("--weird-key on its owner = %q, %v", v, err)
	}
	if d, err := wc.TTL(ctx, "--weird-key").Result(); err != nil || d != -1 {
		t.Fatalf("--weird-key has a TTL: %v, %v", d, err)
	}
	if out, _, err := run(ctx, "get", nn, "--", "--weird-key"); err != nil || out != "--ttl\n" {
		t.Fatalf("get -- --weird-key: %q, %v", out, err)
	}
	if out, _, err := run(ctx, "del", "greeting", "--output=json", nn, "--", "--weird-key"); err != nil || !strings.Contains(out, `"deleted": 2`) {
		t.Fatalf("del greeting --output=json -- --weird-key: %q, %v", out, err)
	}
}
