package datanode

import (
	"cmp"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/chkv/chkv/datanode/resp"
)

// clientCommand is CLIENT: connection names, listing and killing.
func clientCommand() *command {
	const sub = flagNoScript | flagLoading | flagStale
	return newContainer("client", -2, 0, commandDoc{"connection", "A container for client connection commands.", "2.4.0", "Depends on subcommand.", ""},
		[]*command{
			{name: "client|id", arity: 2, flags: sub, run: cmdClientID,
				doc: commandDoc{"connection", "Returns the unique client ID of the connection.", "5.0.0", "O(1)", ""}},
			{name: "client|getname", arity: 2, flags: sub, run: cmdClientGetName,
				doc: commandDoc{"connection", "Returns the name of the connection.", "2.6.9", "O(1)", ""}},
			{name: "client|setname", arity: 3, flags: sub, run: cmdClientSetName,
				doc: commandDoc{"connection", "Sets the connection name.", "2.6.9", "O(1)", "connection-name"}},
			{name: "client|setinfo", arity: 4, flags: sub, run: cmdClientSetInfo,
				doc: commandDoc{"connection", "Sets information specific to the client or connection.", "7.2.0", "O(1)", "<LIB-NAME libname | LIB-VER libver>"}},
			{name: "client|info", arity: 2, flags: sub, run: cmdClientInfo,
				doc: commandDoc{"connection", "Returns information about the connection.", "6.2.0", "O(1)", ""}},
			{name: "client|list", arity: -2, flags: flagAdmin | sub, run: cmdClientList,
				doc: commandDoc{"connection", "Lists open connections.", "2.4.0", "O(N) where N is the number of client connections",
					"[TYPE <NORMAL | MASTER | REPLICA | PUBSUB>] [ID client-id [client-id ...]]"}},
			{name: "client|kill", arity: -3, flags: flagAdmin | sub, run: cmdClientKill,
				doc: commandDoc{"connection", "Terminates open connections.", "2.4.0", "O(N) where N is the number of client connections",
					"<ip:port | " + clientKillFilter + " [" + clientKillFilter + " ...]>"}},
			clientUnblockCommand(sub),
			{name: "client|pause", arity: -3, flags: flagAdmin | sub, run: cmdClientPause,
				doc: commandDoc{"connection", "Stop processing commands from clients for some time", "2.9.50", "O(1)", "timeout [WRITE | ALL]"}},
			{name: "client|unpause", arity: 2, flags: flagAdmin | sub, run: cmdClientUnpause,
				doc: commandDoc{"connection", "Resume processing of clients that were paused", "6.2.0", "O(N) Where N is the number of paused clients", ""}},
			{name: "client|no-evict", arity: 3, flags: flagAdmin | sub, run: cmdClientNoEvict,
				doc: commandDoc{"connection", "Set client eviction mode for the current connection", "7.0.0", "O(1)", "<ON | OFF>"}},
			{name: "client|help", arity: 2, flags: flagLoading | flagStale, run: cmdClientHelp,
				doc: commandDoc{"connection", "Returns helpful text about the different subcommands.", "5.0.0", "O(1)", ""}},
		})
}

// clientKillFilter is the syntax of one filter of CLIENT KILL's new form.
const clientKillFilter = "<[ID client-id] | [TYPE <NORMAL | MASTER | SLAVE | REPLICA | PUBSUB>] | [USER username] | [ADDR ip:port] | [LADDR ip:port] | [SKIPME <YES | NO>]>"

func cmdClientID(c *client, _ [][]byte) { c.replyInt(int64(c.id)) }

func cmdClientGetName(c *client, _ [][]byte) {
	if name := c.name.Load(); name != nil && *name != "" {
		c.replyBulkString(*name)
		return
	}
	c.replyNull()
}

func cmdClientSetName(c *client, args [][]byte) {
	if !validClientName(args[2]) {
		c.replyError(errClientName)
		return
	}
	c.setName(string(args[2]))
	c.replyOK()
}

// cmdClientSetInfo is CLIENT SETINFO (Redis 7.2), which client libraries
// send on connecting to record their name and version.
func cmdClientSetInfo(c *client, args [][]byte) {
	attr := args[2]
	var dest interface{ Store(*string) }
	switch {
	case equalFold(attr, "lib-name"):
		dest = &c.libName
	case equalFold(attr, "lib-ver"):
		dest = &c.libVersion
	default:
		c.replyError(fmt.Sprintf("ERR Unrecognized option '%s'", attr))
		return
	}
	if !validClientName(args[3]) {
		c.replyError(fmt.Sprintf("ERR %s cannot contain spaces, newlines or special characters.", attr))
		return
	}
	v := string(args[3])
	dest.Store(&v)
	c.replyOK()
}

func cmdClientInfo(c *client, _ [][]byte) {
	c.replyBulkString(c.infoLine(time.Now()) + "\n")
}

func cmdClientList(c *client, args [][]byte) {
	var ids []uint64
	listType := "" // any
	switch {
	case len(args) == 2:
	case len(args) == 4 && equalFold(args[2], "type"):
		typ, ok := clientType(args[3])
		if !ok {
			c.replyError(fmt.Sprintf("ERR Unknown client type '%s'", args[3]))
			return
		}
		listType = typ
	case len(args) > 3 && equalFold(args[2], "id"):
		for _, a := range args[3:] {
			id, ok := parseInt(a)
			if !ok {
				c.replyError("ERR Invalid client ID")
				return
			}
			ids = append(ids, uint64(id))
		}
	default:
		c.replyError(errSyntax)
		return
	}
	now := time.Now()
	var b strings.Builder
	if ids != nil {
		for _, id := range ids {
			if cl := c.srv.clientByID(id); cl != nil {
				b.WriteString(cl.infoLine(now) + "\n")
			}
		}
	} else {
		for _, cl := range c.srv.clientsByID() {
			if listType == "" || cl.clientType() == listType {
				b.WriteString(cl.infoLine(now) + "\n")
			}
		}
	}
	c.replyBulkString(b.String())
}

// clientType parses a client type of CLIENT LIST and CLIENT KILL: normal,
// pubsub, or another that no CHKV client has.
func clientType(name []byte) (typ string, ok bool) {
	switch t := lower(name); t {
	case "normal", "pubsub":
		return t, true
	case "master", "slave", "replica":
		return "replica", true
	}
	return "", false
}

// clientType is the client's type: "pubsub" while it has subscriptions,
// else "normal".
func (c *client) clientType() string {
	if c.inPubSub() {
		return "pubsub"
	}
	return "normal"
}

func cmdClientKill(c *client, args [][]byte) {
	var (
		addr, laddr  string
		id           uint64
		killType     string // "" for any
		skipMe       = true
		oldStyle     = len(args) == 3
		hasAddr      bool
		hasLocalAddr bool
	)
	switch {
	case oldStyle:
		addr, hasAddr, skipMe = string(args[2]), true, false
	case len(args)%2 == 0:
		for i := 2; i < len(args); i += 2 {
			opt, val := args[i], args[i+1]
			switch {
			case equalFold(opt, "id"):
				n, ok := parseInt(val)
				if !ok || n < 1 {
					c.replyError("ERR client-id should be greater than 0")
					return
				}
				id = uint64(n)
			case equalFold(opt, "type"):
				typ, ok := clientType(val)
				if !ok {
					c.replyError(fmt.Sprintf("ERR Unknown client type '%s'", val))
					return
				}
				killType = typ
			case equalFold(opt, "addr"):
				addr, hasAddr = string(val), true
			case equalFold(opt, "laddr"):
				laddr, hasLocalAddr = string(val), true
			case equalFold(opt, "user"):
				if string(val) != "default" {
					c.replyError(fmt.Sprintf("ERR No such user '%s'", val))
					return
				}
			case equalFold(opt, "skipme"):
				switch {
				case equalFold(val, "yes"):
					skipMe = true
				case equalFold(val, "no"):
					skipMe = false
				default:
					c.replyError(errSyntax)
					return
				}
			default:
				c.replyError(errSyntax)
				return
			}
		}
	default:
		c.replyError(errSyntax)
		return
	}
	killed := 0
	for _, cl := range c.srv.clientsByID() {
		switch {
		case killType != "" && cl.clientType() != killType,
			hasAddr && peerAddr(cl.conn) != addr,
			hasLocalAddr && localAddr(cl.conn) != laddr,
			id != 0 && cl.id != id,
			cl == c && skipMe:
			continue
		}
		killed++
		if cl == c {
			c.closeAfter = true
			continue
		}
		cl.conn.Close()
		c.srv.unregister(cl)
	}
	switch {
	case !oldStyle:
		c.replyInt(int64(killed))
	case killed == 0:
		c.replyError("ERR No such client")
	default:
		c.replyOK()
	}
}

func cmdClientHelp(c *client, _ [][]byte) {
	c.replyHelp("client", []string{
		"GETNAME",
		"    Return the name of the current connection.",
		"ID",
		"    Return the ID of the current connection.",
		"INFO",
		"    Return information about the current client connection.",
		"KILL <ip:port>",
		"    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]",
		"    Kill connections. Options are:",
		"    * ADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made from the specified address",
		"    * LADDR (<ip:port>|<unixsocket>:0)",
		"      Kill connections made to specified local address",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Kill connections by type.",
		"    * USER <username>",
		"      Kill connections authenticated by <username>.",
		"    * SKIPME (YES|NO)",
		"      Skip killing current connection (default: yes).",
		"    * ID <client-id>",
		"      Kill connections by client id.",
		"LIST [options ...]",
		"    Return information about client connections. Options:",
		"    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
		"      Return clients of specified type.",
		"    * ID <client-id> [<client-id> ...]",
		"      Return clients with the specified IDs.",
		"UNPAUSE",
		"    Stop the current client pause, resuming traffic.",
		"PAUSE <timeout> [WRITE|ALL]",
		"    Suspend all, or just write, clients for <timeout> milliseconds.",
		"SETNAME <name>",
		"    Assign the name <name> to the current connection.",
		"UNBLOCK <clientid> [TIMEOUT|ERROR]",
		"    Unblock the specified blocked client.",
		"SETINFO <option> <value>",
		"    Set client meta attr. Options are:",
		"    * LIB-NAME: the client lib name.",
		"    * LIB-VER: the client lib version.",
		"NO-EVICT (ON|OFF)",
		"    Protect current client connection from eviction.",
	})
}

// clientByID returns the connected client with the given ID, or nil.
func (s *Server) clientByID(id uint64) *client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clients[id]
}

// clientsByID returns the connected clients in connection order.
func (s *Server) clientsByID() []*client {
	var list []*client
	s.forEachClient(func(c *client) { list = append(list, c) })
	slices.SortFunc(list, func(a, b *client) int { return cmp.Compare(a.id, b.id) })
	return list
}

// peerAddr is a client's address as CLIENT LIST prints it: ip:port, or the
// socket path and ":0" for a Unix socket; "" for the HTTP API's clients,
// which have no connection.
func peerAddr(conn net.Conn) string {
	if conn == nil {
		return ""
	}
	return formatAddr(conn.RemoteAddr(), conn.LocalAddr())
}

// localAddr is the address a client connected to, as CLIENT LIST's laddr.
func localAddr(conn net.Conn) string { return formatAddr(conn.LocalAddr(), conn.LocalAddr()) }

func formatAddr(a, local net.Addr) string {
	if a == nil {
		return ""
	}
	if _, ok := a.(*net.UnixAddr); ok {
		return local.String() + ":0"
	}
	return a.String()
}

// connFD returns the connection's file descriptor, or -1.
func connFD(conn net.Conn) int {
	fd := -1
	if sc, ok := conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			rc.Control(func(f uintptr) { fd = int(f) })
		}
	}
	return fd
}

// infoLine is the client's line of CLIENT LIST and CLIENT INFO, in Redis
// 7.2's format. Only atomics are read, so any goroutine may call it.
func (c *client) infoLine(now time.Time) string {
	load := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	cmd := "NULL"
	if p := c.lastCmd.Load(); p != nil {
		cmd = *p
	}
	flags := ""
	if c.monitoring.Load() {
		flags = "O"
	}
	if c.inPubSub() {
		flags += "P"
	}
	multiLen := c.multiLen.Load()
	if multiLen >= 0 {
		flags += "x"
	}
	if c.blockedNow() {
		flags += "b"
	}
	if _, unix := c.conn.LocalAddr().(*net.UnixAddr); unix {
		flags += "U"
	}
	if c.noEvict.Load() {
		flags += "e"
	}
	if flags == "" {
		flags = "N"
	}
	qbuf := c.qbuf.Load()
	outLen := c.outLen.Load()
	rbs := max(int64(outBufferKeep), outLen)
	events := "r"
	if outLen > 0 {
		events = "rw"
	}
	var b strings.Builder
	field := func(k string, v any) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		switch v := v.(type) {
		case string:
			b.WriteString(v)
		case int64:
			b.WriteString(strconv.FormatInt(v, 10))
		default:
			fmt.Fprint(&b, v)
		}
	}
	field("id", int64(c.id))
	field("addr", peerAddr(c.conn))
	field("laddr", localAddr(c.conn))
	field("fd", connFD(c.conn))
	field("name", load(c.name.Load()))
	field("age", int64(now.Sub(c.created)/time.Second))
	field("idle", max(now.UnixMilli()-c.lastActive.Load(), 0)/1000)
	field("flags", flags)
	field("db", 0)
	field("sub", int64(c.subs.counts[kindChannel].Load()))
	field("psub", int64(c.subs.counts[kindPattern].Load()))
	field("ssub", int64(c.subs.counts[kindShard].Load()))
	field("multi", multiLen)
	field("qbuf", qbuf)
	field("qbuf-free", max(int64(resp.DefaultBufferSize)-qbuf, 0))
	field("argv-mem", 0)
	field("multi-mem", 0)
	field("rbs", rbs)
	field("rbp", rbs)
	field("obl", outLen)
	field("oll", 0)
	field("omem", 0)
	field("tot-mem", max(int64(resp.DefaultBufferSize), qbuf)+rbs)
	field("events", events)
	field("cmd", cmd)
	field("user", "default")
	field("redir", -1)
	field("resp", 2)
	field("lib-name", load(c.libName.Load()))
	field("lib-ver", load(c.libVersion.Load()))
	return b.String()
}
