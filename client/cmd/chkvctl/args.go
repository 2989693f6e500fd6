package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/urfave/cli/v2"
)

// urfave/cli knows the global flags only before the command, and stops
// reading a command's flags at its first argument. chkvctl is typed the way
// etcdctl and kubectl are: `chkvctl status --output json`,
// `chkvctl set k v --ttl 10s`, `chkvctl drain dn-2 --no-wait`. So before
// urfave/cli sees a command line, normalizeArgs moves each flag to where
// urfave/cli reads it; what the flags mean, and the precedence
// flag > CHKV_* variable > --config file > default, stay urfave/cli's.

// flagSpec maps every name and alias of a set of flags to whether the flag
// takes a value (--ttl 10s) or not (--nx).
type flagSpec map[string]bool

// specOf returns the spec of flags, with the help flag when withHelp.
func specOf(flags []cli.Flag, withHelp bool) flagSpec {
	s := flagSpec{}
	for _, f := range flags {
		s.add(f)
	}
	if withHelp && cli.HelpFlag != nil {
		s.add(cli.HelpFlag)
	}
	return s
}

func (s flagSpec) add(f cli.Flag) {
	takesValue := true
	if v, ok := f.(interface{ TakesValue() bool }); ok {
		takesValue = v.TakesValue()
	}
	for _, n := range f.Names() {
		s[n] = takesValue
	}
}

// has reports whether name is one of the flags.
func (s flagSpec) has(name string) bool {
	_, ok := s[name]
	return ok
}

// parseFlag reports whether arg is a flag, as Go's flag package reads one
// (-name, --name, -name=value or --name=value; "-" and "--" are not
// flags), and returns its name and whether the value is attached.
func parseFlag(arg string) (name string, attached, isFlag bool) {
	if len(arg) < 2 || arg[0] != '-' || arg == "--" {
		return "", false, false
	}
	name = arg[1:]
	if name[0] == '-' {
		name = name[1:]
	}
	if i := strings.IndexByte(name, '='); i >= 0 {
		return name[:i], true, true
	}
	return name, false, true
}

// normalizeArgs rewrites args (os.Args: the program, then what the user
// typed) into the order urfave/cli parses,
//
//	chkvctl GLOBAL-FLAGS... COMMAND COMMAND-FLAGS... -- ARGS...
//
// so that a global flag may come anywhere on the line, a command's flags
// before, between or after its arguments, and "--" ends the flags: what
// follows it are arguments even when they begin with "-". The first word
// that is neither a flag nor a flag's value is the command. Flags keep their
// order, so that of a flag given twice the last one counts. It fails on an
// unknown command, an unknown flag (naming "--" for arguments that begin
// with "-"), a command's flag before the command, and a last flag missing
// its value.
func normalizeArgs(app *cli.App, args []string) ([]string, error) {
	if len(args) == 0 {
		return args, nil
	}
	app.Setup() // adds the help command and flag; Run does it only once
	global := specOf(app.Flags, false)
	var (
		globals, local, positional []string
		cmd                        *cli.Command
		cmdWord                    string   // cmd's name as typed: an alias stays an alias
		spec                       flagSpec // of cmd
		help                       bool     // cmd's help flag is among local
	)
	setCommand := func(name string) error {
		cmdWord = name
		if cmd = app.Command(name); cmd == nil {
			return fmt.Errorf("unknown command %q; the commands are %s (chkvctl help lists them)", name, commandNames(app))
		}
		spec = specOf(cmd.Flags, !cmd.HideHelp)
		return nil
	}
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		arg := rest[i]
		if arg == "--" {
			tail := rest[i+1:]
			if cmd == nil && len(tail) > 0 {
				if err := setCommand(tail[0]); err != nil {
					return nil, err
				}
				tail = tail[1:]
			}
			positional = append(positional, tail...)
			break
		}
		name, attached, isFlag := parseFlag(arg)
		if !isFlag {
			if cmd == nil {
				if err := setCommand(arg); err != nil {
					return nil, err
				}
			} else {
				positional = append(positional, arg)
			}
			continue
		}
		var dst *[]string
		var takesValue bool
		switch {
		case cmd != nil && spec.has(name): // a command's flag shadows a global one
			dst, takesValue = &local, spec[name]
			help = help || isHelp(name)
		case global.has(name):
			dst, takesValue = &globals, global[name]
		case cmd == nil:
			if owners := commandsWithFlag(app, name); len(owners) > 0 {
				return nil, fmt.Errorf("flag %s is a flag of %s: give it after the command, as in chkvctl %s ... %s",
					arg, strings.Join(owners, ", "), owners[0], arg)
			}
			return nil, fmt.Errorf("unknown flag %s (chkvctl --help lists the global flags)", arg)
		case cmd.ArgsUsage == "": // the command takes no arguments
			return nil, fmt.Errorf("unknown flag %s for %s (chkvctl %s --help lists its flags)", arg, cmd.Name, cmd.Name)
		default:
			return nil, fmt.Errorf("unknown flag %s for %s (chkvctl %s --help lists its flags; "+
				"an argument that begins with \"-\" goes after \"--\", as in chkvctl %s -- %s)", arg, cmd.Name, cmd.Name, cmdWord, arg)
		}
		*dst = append(*dst, arg)
		if takesValue && !attached {
			if i+1 == len(rest) {
				return nil, fmt.Errorf("flag %s needs a value", arg)
			}
			i++
			*dst = append(*dst, rest[i])
		}
	}
	out := append([]string{args[0]}, globals...)
	if cmd == nil {
		return out, nil
	}
	out = append(out, cmdWord)
	out = append(out, local...)
	if len(positional) > 0 && !help { // urfave/cli would take an argument for a help topic
		out = append(append(out, "--"), positional...)
	}
	return out, nil
}

// isHelp reports whether name is a name of the help flag.
func isHelp(name string) bool {
	return cli.HelpFlag != nil && slices.Contains(cli.HelpFlag.Names(), name)
}

// commandNames lists the names of app's commands, sorted.
func commandNames(app *cli.App) string {
	var names []string
	for _, c := range app.Commands {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// commandsWithFlag returns the names of the commands that have a flag
// called name.
func commandsWithFlag(app *cli.App, name string) []string {
	var out []string
	for _, c := range app.Commands {
		if specOf(c.Flags, false).has(name) {
			out = append(out, c.Name)
		}
	}
	return out
}
