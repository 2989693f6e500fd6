package datanode

import (
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"

	"github.com/chkv/chkv/common/bytesize"
	"github.com/chkv/chkv/datanode/store"
)

// configCommand is CONFIG: the runtime Settings, read and swapped whole.
func configCommand() *command {
	const sub = flagAdmin | flagNoScript | flagLoading | flagStale
	return newContainer("config", -2, 0, commandDoc{"server", "A container for server configuration commands.", "2.0.0", "Depends on subcommand.", ""},
		[]*command{
			{name: "config|get", arity: -3, flags: sub, run: cmdConfigGet,
				doc: commandDoc{"server", "Returns the effective values of configuration parameters.", "2.0.0", "O(N) when N is the number of configuration parameters provided", "parameter [parameter ...]"}},
			{name: "config|set", arity: -4, flags: sub, run: cmdConfigSet,
				doc: commandDoc{"server", "Sets configuration parameters in-flight.", "2.0.0", "O(N) when N is the number of configuration parameters provided", "parameter value [parameter value ...]"}},
			{name: "config|resetstat", arity: 2, flags: sub, run: cmdConfigResetStat,
				doc: commandDoc{"server", "Resets the server's statistics.", "2.0.0", "O(1)", ""}},
			{name: "config|rewrite", arity: 2, flags: sub, run: cmdConfigRewrite,
				doc: commandDoc{"server", "Persists the effective configuration to file.", "2.8.0", "O(1)", ""}},
			{name: "config|help", arity: 2, flags: flagLoading | flagStale, run: cmdConfigHelp,
				doc: commandDoc{"server", "Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""}},
		})
}

// configParam is one parameter of CONFIG GET and CONFIG SET, named as in
// redis.conf.
type configParam struct {
	name string
	get  func(s *Server, st *Settings) string
	// set parses value into st, returning Redis's explanation of a bad
	// value; nil marks a read-only parameter.
	set func(st *Settings, value string) error
}

// configParams are the parameters in the order CONFIG GET lists them. The
// read-only ones answer what client libraries and tools ask at start-up.
var configParams = []configParam{
	{"requirepass", func(_ *Server, st *Settings) string { return st.RequirePass },
		func(st *Settings, v string) error { st.RequirePass = v; return nil }},
	{"maxclients", func(_ *Server, st *Settings) string { return strconv.Itoa(st.MaxClients) },
		intSetter(1, math.MaxUint32, func(st *Settings, n int64) { st.MaxClients = int(n) })},
	{"maxmemory", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.MaxMemory, 10) },
		memorySetter(0, func(st *Settings, n int64) { st.MaxMemory = n })},
	{"maxmemory-policy", func(_ *Server, st *Settings) string { return st.MaxMemoryPolicy.String() },
		setPolicy},
	{"maxmemory-samples", func(_ *Server, st *Settings) string { return strconv.Itoa(st.MaxMemorySamples) },
		intSetter(1, 64, func(st *Settings, n int64) { st.MaxMemorySamples = int(n) })},
	{"proto-max-bulk-len", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ProtoMaxBulkLen, 10) },
		memorySetter(1<<20, func(st *Settings, n int64) { st.ProtoMaxBulkLen = n })},
	{"client-query-buffer-limit", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ClientQueryBufferLimit, 10) },
		memorySetter(1<<20, func(st *Settings, n int64) { st.ClientQueryBufferLimit = n })},
	{"hash-max-listpack-entries", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.HashMaxListpackEntries, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.HashMaxListpackEntries = n })},
	{"hash-max-listpack-value", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.HashMaxListpackValue, 10) },
		memorySetter(0, func(st *Settings, n int64) { st.HashMaxListpackValue = n })},
	{"hash-max-ziplist-entries", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.HashMaxListpackEntries, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.HashMaxListpackEntries = n })},
	{"hash-max-ziplist-value", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.HashMaxListpackValue, 10) },
		memorySetter(0, func(st *Settings, n int64) { st.HashMaxListpackValue = n })},
	{"list-max-listpack-size", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ListMaxListpackSize, 10) },
		intSetter(math.MinInt32, math.MaxInt32, func(st *Settings, n int64) { st.ListMaxListpackSize = n })},
	{"list-max-ziplist-size", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ListMaxListpackSize, 10) },
		intSetter(math.MinInt32, math.MaxInt32, func(st *Settings, n int64) { st.ListMaxListpackSize = n })},
	{"list-compress-depth", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ListCompressDepth, 10) },
		intSetter(0, math.MaxInt32, func(st *Settings, n int64) { st.ListCompressDepth = n })},
	{"zset-max-listpack-entries", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ZsetMaxListpackEntries, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.ZsetMaxListpackEntries = n })},
	{"zset-max-listpack-value", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ZsetMaxListpackValue, 10) },
		memorySetter(0, func(st *Settings, n int64) { st.ZsetMaxListpackValue = n })},
	{"zset-max-ziplist-entries", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ZsetMaxListpackEntries, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.ZsetMaxListpackEntries = n })},
	{"zset-max-ziplist-value", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.ZsetMaxListpackValue, 10) },
		memorySetter(0, func(st *Settings, n int64) { st.ZsetMaxListpackValue = n })},
	{"set-max-intset-entries", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.SetMaxIntsetEntries, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.SetMaxIntsetEntries = n })},
	{"protected-mode", func(_ *Server, st *Settings) string { return yesNo(st.ProtectedMode) },
		boolSetter(func(st *Settings, b bool) { st.ProtectedMode = b })},
	{"timeout", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.Timeout, 10) },
		intSetter(0, math.MaxInt32, func(st *Settings, n int64) { st.Timeout = n })},
	{"busy-reply-threshold", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.BusyReplyThreshold, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.BusyReplyThreshold = n })},
	{"lua-time-limit", func(_ *Server, st *Settings) string { return strconv.FormatInt(st.BusyReplyThreshold, 10) },
		intSetter(0, math.MaxInt64, func(st *Settings, n int64) { st.BusyReplyThreshold = n })},
	{"client-output-buffer-limit", func(_ *Server, st *Settings) string { return st.OutputBufferLimits.String() },
		setOutputBufferLimits},
	{"save", getSave, setSave},
	{"dir", getDir, setDir},
	{"dbfilename", getDBFilename, setDBFilename},
	{"stop-writes-on-bgsave-error", func(_ *Server, st *Settings) string { return yesNo(st.StopWritesOnBgsaveError) },
		boolSetter(func(st *Settings, b bool) { st.StopWritesOnBgsaveError = b })},
	{"enable-protected-configs", func(_ *Server, st *Settings) string { return yesNo(st.EnableProtectedConfigs) }, nil},
	{"appendonly", func(*Server, *Settings) string { return "no" },
		fixedSetter("no", "CHKV keeps no append-only file")},
	{"databases", func(*Server, *Settings) string { return "1" }, nil},
	{"port", func(s *Server, _ *Settings) string { return strconv.Itoa(s.listenPort()) }, nil},
	{"bind", func(s *Server, _ *Settings) string { return s.bindHost() }, nil},
	{"cluster-enabled", func(s *Server, _ *Settings) string { return yesNo(len(s.cfg.NameNodes) > 0) }, nil},
}

// bindHost is the host part of the listen address.
func (s *Server) bindHost() string {
	addr := s.cfg.Listen
	if a := s.Addr(); a != nil {
		addr = a.String()
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return host
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// configError is a bad CONFIG SET value; its text is Redis's explanation.
type configError string

func (e configError) Error() string { return string(e) }

func intSetter(lo, hi int64, apply func(*Settings, int64)) func(*Settings, string) error {
	return func(st *Settings, v string) error {
		n, ok := parseInt([]byte(v))
		if !ok {
			return configError("argument couldn't be parsed into an integer")
		}
		if n < lo || n > hi {
			return configError(fmt.Sprintf("argument must be between %d and %d inclusive", lo, hi))
		}
		apply(st, n)
		return nil
	}
}

func memorySetter(lo int64, apply func(*Settings, int64)) func(*Settings, string) error {
	return func(st *Settings, v string) error {
		n, ok := parseMemory(v)
		if !ok {
			return configError("argument must be a memory value")
		}
		if n < lo {
			return configError(fmt.Sprintf("argument must be between %d and %d inclusive", lo, int64(math.MaxInt64)))
		}
		apply(st, n)
		return nil
	}
}

// parseMemory parses a redis.conf memory value: digits and an optional unit
// (b, k, kb, m, mb, g, gb in any case), nothing else.
func parseMemory(v string) (int64, bool) {
	digits := 0
	for digits < len(v) && '0' <= v[digits] && v[digits] <= '9' {
		digits++
	}
	switch strings.ToLower(v[digits:]) {
	case "", "b", "k", "kb", "m", "mb", "g", "gb":
	default:
		return 0, false
	}
	if digits == 0 {
		return 0, false
	}
	n, err := bytesize.Parse(v)
	return n, err == nil
}

func boolSetter(apply func(*Settings, bool)) func(*Settings, string) error {
	return func(st *Settings, v string) error {
		switch strings.ToLower(v) {
		case "yes":
			apply(st, true)
		case "no":
			apply(st, false)
		default:
			return configError("argument must be 'yes' or 'no'")
		}
		return nil
	}
}

// fixedSetter accepts only the parameter's one value, so that clients that
// turn persistence off succeed.
func fixedSetter(only, why string) func(*Settings, string) error {
	return func(_ *Settings, v string) error {
		if !strings.EqualFold(v, only) {
			return configError(why)
		}
		return nil
	}
}

func setPolicy(st *Settings, v string) error {
	p, err := store.ParsePolicy(strings.ToLower(v))
	if err != nil {
		return configError("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction")
	}
	st.MaxMemoryPolicy = p
	return nil
}

func init() {
	configParams = append(configParams, slowlogConfigParams...)
	configParams = append(configParams, latencyConfigParams...)
}

// findConfigParam looks a parameter up by name in any case.
func findConfigParam(name string) *configParam {
	for i := range configParams {
		if strings.EqualFold(configParams[i].name, name) {
			return &configParams[i]
		}
	}
	return nil
}

func cmdConfigGet(c *client, args [][]byte) {
	st := c.srv.settings.Load()
	seen := map[string]bool{}
	var out []string
	for _, a := range args[2:] {
		pattern := string(a)
		if !strings.ContainsAny(pattern, "[*?") {
			// A plain name is looked up directly and echoed as given.
			if p := findConfigParam(pattern); p != nil && !seen[p.name] {
				seen[p.name] = true
				out = append(out, pattern, p.get(c.srv, st))
			}
			continue
		}
		for i := range configParams {
			p := &configParams[i]
			if !seen[p.name] && nameMatch(strings.ToLower(pattern), p.name) {
				seen[p.name] = true
				out = append(out, p.name, p.get(c.srv, st))
			}
		}
	}
	c.replyStrings(out)
}

// cmdConfigSet sets one or more parameters atomically: all of them or, on
// any error, none, with Redis's errors.
func cmdConfigSet(c *client, args [][]byte) {
	if len(args)%2 != 0 {
		c.replyError(errSyntax)
		return
	}
	var (
		params      []*configParam
		unknown     string
		errArg      string
		errText     string
		invalidArgs bool
	)
	for i := 2; i < len(args); i += 2 {
		name := string(args[i])
		p := findConfigParam(name)
		switch {
		case p == nil:
			if unknown == "" {
				unknown = name
			}
			invalidArgs = true
		case invalidArgs:
		case p.set == nil:
			errArg, errText, invalidArgs = name, "can't set immutable config", true
		case containsParam(params, p):
			errArg, errText, invalidArgs = name, "duplicate parameter", true
		}
		params = append(params, p)
	}
	if unknown != "" {
		c.replyError("ERR Unknown option or number of arguments for CONFIG SET - '" + unknown + "'")
		return
	}
	if invalidArgs {
		c.replyError(configSetError(errArg, errText))
		return
	}
	for {
		old := c.srv.settings.Load()
		st := *old
		for i, p := range params {
			if err := p.set(&st, string(args[3+2*i])); err != nil {
				c.replyError(configSetError(p.name, err.Error()))
				return
			}
		}
		if err := st.Validate(); err != nil {
			msg := strings.TrimPrefix(err.Error(), "datanode: ")
			name := params[0].name
			for _, p := range params {
				if strings.Contains(msg, p.name) {
					name = p.name
					break
				}
			}
			c.replyError(configSetError(name, msg))
			return
		}
		if c.srv.settings.CompareAndSwap(old, &st) {
			break
		}
	}
	c.replyOK()
}

func containsParam(params []*configParam, p *configParam) bool {
	for _, q := range params {
		if q == p {
			return true
		}
	}
	return false
}

func configSetError(name, why string) string {
	return "ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + why
}

func cmdConfigResetStat(c *client, _ [][]byte) {
	c.srv.resetStats()
	c.replyOK()
}

// cmdConfigRewrite answers as Redis does when it was started without a
// configuration file, which is always CHKV's case.
func cmdConfigRewrite(c *client, _ [][]byte) {
	c.replyError("ERR The server is running without a config file")
}

func cmdConfigHelp(c *client, _ [][]byte) {
	c.replyHelp("config", []string{
		"GET <pattern>",
		"    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>",
		"    Set the configuration <directive> to <value>.",
		"RESETSTAT",
		"    Reset statistics reported by the INFO command.",
		"REWRITE",
		"    Rewrite the configuration file.",
	})
}
