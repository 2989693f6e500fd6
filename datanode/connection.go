package datanode

import "crypto/subtle"

// redisVersion is the Redis version whose behaviour CHKV follows; INFO and
// HELLO report it so client libraries enable the matching features.
const redisVersion = "7.0.0"

func connectionCommands() []*command {
	return []*command{
		{name: "ping", arity: -1, flags: flagFast | flagStale | flagLoading, run: cmdPing,
			doc: commandDoc{"connection", "Returns the server's liveliness response.", "1.0.0", "O(1)", "[message]"}},
		{name: "echo", arity: 2, flags: flagFast | flagStale | flagLoading, run: cmdEcho,
			doc: commandDoc{"connection", "Returns the given string.", "1.0.0", "O(1)", "message"}},
		{name: "quit", arity: -1, flags: flagFast | flagNoAuth | flagStale | flagLoading | flagNoScript | flagAllowBusy | flagNoQueue, run: cmdQuit,
			doc: commandDoc{"connection", "Closes the connection.", "1.0.0", "O(1)", ""}},
		{name: "select", arity: 2, flags: flagFast | flagStale | flagLoading, run: cmdSelect,
			doc: commandDoc{"connection", "Changes the selected database.", "1.0.0", "O(1)", "index"}},
		{name: "auth", arity: -2, flags: flagFast | flagNoAuth | flagStale | flagLoading | flagNoScript | flagAllowBusy, run: cmdAuth,
			doc: commandDoc{"connection", "Authenticates the connection.", "1.0.0", "O(N) where N is the number of passwords defined for the user", "[username] password"}},
		{name: "hello", arity: -1, flags: flagFast | flagNoAuth | flagStale | flagLoading | flagNoScript | flagAllowBusy, run: cmdHello,
			doc: commandDoc{"connection", "Handshakes with the Redis server.", "6.0.0", "O(1)", "[protover [AUTH username password] [SETNAME clientname]]"}},
	}
}

func cmdPing(c *client, args [][]byte) {
	if c.inPubSub() && !c.resp3 && len(args) <= 2 {
		replySubscribedPong(c, args)
		return
	}
	switch len(args) {
	case 1:
		c.replyStatus("PONG")
	case 2:
		c.replyBulk(args[1])
	default:
		c.replyError(arityError("ping"))
	}
}

func cmdEcho(c *client, args [][]byte) { c.replyBulk(args[1]) }

func cmdQuit(c *client, _ [][]byte) {
	c.replyOK()
	c.closeAfter = true
}

func cmdSelect(c *client, args [][]byte) {
	db, ok := parseInt(args[1])
	switch {
	case !ok || db != int64(int32(db)):
		c.replyError(errNotInteger)
	case db != 0:
		c.replyError(errDBIndex)
	default:
		c.replyOK()
	}
}

// checkPassword reports whether user and password open the default user:
// any password does while none is required.
func (c *client) checkPassword(user, password []byte) bool {
	want := c.srv.settings.Load().RequirePass
	if user != nil && string(user) != "default" {
		return false
	}
	if want == "" {
		return true // without requirepass the default user is nopass, as in Redis
	}
	return subtle.ConstantTimeCompare(password, []byte(want)) == 1
}

func cmdAuth(c *client, args [][]byte) {
	if len(args) > 3 {
		c.replyError(errSyntax)
		return
	}
	var user, password []byte = nil, args[1]
	if len(args) == 3 {
		user, password = args[1], args[2]
	}
	if user == nil && c.srv.settings.Load().RequirePass == "" {
		c.replyError(errNoPassword)
		return
	}
	if !c.checkPassword(user, password) {
		c.replyError(errWrongPass)
		return
	}
	c.authenticated = true
	c.replyOK()
}

func cmdHello(c *client, args [][]byte) {
	proto := int64(0) // unchanged
	if len(args) >= 2 {
		ver, ok := parseInt(args[1])
		if !ok {
			c.replyError("ERR Protocol version is not an integer or out of range")
			return
		}
		if ver != 2 && ver != 3 {
			c.replyError(errNoProto)
			return
		}
		proto = ver
	}
	var setName []byte
	authed := false
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case equalFold(args[i], "auth") && more >= 2:
			if !c.checkPassword(args[i+1], args[i+2]) {
				c.replyError(errWrongPass)
				return
			}
			authed = true
			i += 2
		case equalFold(args[i], "setname") && more >= 1:
			setName = args[i+1]
			if !validClientName(setName) {
				c.replyError(errClientName)
				return
			}
			i++
		default:
			c.replyError("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
			return
		}
	}
	if authed {
		c.authenticated = true
	}
	if c.srv.settings.Load().RequirePass != "" && !c.authenticated {
		c.replyError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
		return
	}
	if setName != nil {
		c.setName(string(setName))
	}
	if proto != 0 {
		c.setProto(int(proto))
	}
	c.replyMap(7)
	c.replyBulkString("server")
	c.replyBulkString("redis")
	c.replyBulkString("version")
	c.replyBulkString(redisVersion)
	c.replyBulkString("proto")
	c.replyInt(c.respVer.load())
	c.replyBulkString("id")
	c.replyInt(int64(c.id))
	c.replyBulkString("mode")
	c.replyBulkString(c.srv.mode())
	c.replyBulkString("role")
	c.replyBulkString("master")
	c.replyBulkString("modules")
	c.replyArray(0)
}

// errClientName is Redis's reply to a client name with spaces or newlines.
const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

// validClientName reports whether name is acceptable to CLIENT SETNAME:
// printable ASCII without spaces.
func validClientName(name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

// setName sets the client's name; an empty name clears it.
func (c *client) setName(name string) {
	c.name.Store(&name)
}

// mode is what HELLO and INFO report as the server mode.
func (s *Server) mode() string {
	if len(s.cfg.NameNodes) > 0 {
		return "cluster"
	}
	return "standalone"
}
