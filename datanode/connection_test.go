package datanode

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

func TestConnectionCommands(t *testing.T) {
	scriptTest(t, "ping-echo-select", []step{
		{"PING", "PONG"},
		{"ping hello", `"hello"`},
		{"PING a b", "(error) ERR wrong number of arguments for 'ping' command"},
		{"ECHO", "(error) ERR wrong number of arguments for 'echo' command"},
		{`ECHO "two words"`, `"two words"`},
		{"SELECT 0", "OK"},
		{"SELECT 1", "*"}, // Redis has 16 databases, CHKV one: checked below
		{"SELECT x", "(error) ERR value is not an integer or out of range"},
		{"SELECT", "(error) ERR wrong number of arguments for 'select' command"},
		{"NOSUCHCMD a b", "(error) ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' "},
		{"AUTH secret", "(error) ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"},
		{"AUTH a b c", "(error) ERR syntax error"},
		{"HELLO x", "(error) ERR Protocol version is not an integer or out of range"},
		{"HELLO 2 FOO", "(error) ERR Syntax error in HELLO option 'FOO'"},
	})
}

func TestSelectOnlyDatabaseZero(t *testing.T) {
	c := startServer(t, nil).dial(t)
	if got := c.do("SELECT", "1"); got != "(error) ERR DB index is out of range" {
		t.Fatalf("SELECT 1 = %s", got)
	}
}

func TestHelloReportsProtocol2(t *testing.T) {
	c := startServer(t, nil).dial(t)
	// Versions other than 2 and 3 are refused (resp3_test.go covers 3).
	if got := c.do("HELLO", "4"); got != "(error) NOPROTO unsupported protocol version" {
		t.Fatalf("HELLO 4 = %s", got)
	}
	got := c.do("HELLO", "2", "SETNAME", "me")
	for _, want := range []string{`"server" "redis"`, `"proto" (integer) 2`, `"mode" "standalone"`, `"role" "master"`, `"modules" []`} {
		if !strings.Contains(got, want) {
			t.Errorf("HELLO 2 = %s, missing %s", got, want)
		}
	}
}

func TestQuitClosesAfterReply(t *testing.T) {
	c := startServer(t, nil).dial(t)
	c.send("QUIT")
	if got := c.reply(); got != "OK" {
		t.Fatalf("QUIT = %s", got)
	}
	if rest, err := c.readUntilClosed(5 * time.Second); err != nil || rest != "" {
		t.Fatalf("after QUIT read %q, %v; want EOF", rest, err)
	}
}

func TestRequirePass(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Settings.RequirePass = "s3cret" })
	c := s.dial(t)
	runScriptPlain(t, c, []step{
		{"ECHO k", "(error) NOAUTH Authentication required."},
		{"NOSUCH", "(error) ERR unknown command 'NOSUCH', with args beginning with: "},
		{"PING", "(error) NOAUTH Authentication required."},
		{"AUTH wrong", "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{"AUTH someone s3cret", "(error) WRONGPASS invalid username-password pair or user is disabled."},
		{"HELLO 2", "(error) NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"},
		{"AUTH s3cret", "OK"},
		{"PING", "PONG"},
	})
	c2 := s.dial(t)
	if got := c2.do("AUTH", "default", "s3cret"); got != "OK" {
		t.Fatalf("AUTH default s3cret = %s", got)
	}
	c3 := s.dial(t)
	if got := c3.do("HELLO", "2", "AUTH", "default", "s3cret"); !strings.Contains(got, `"proto" (integer) 2`) {
		t.Fatalf("HELLO 2 AUTH = %s", got)
	}
	if got := c3.do("PING"); got != "PONG" {
		t.Fatalf("PING after HELLO AUTH = %s", got)
	}
}

// runScriptPlain is runScript for scripts that only the DataNode runs.
func runScriptPlain(t *testing.T, c *respConn, steps []step) {
	t.Helper()
	runScript(t, c, steps)
}

func TestMaxClients(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Settings.MaxClients = 2 })
	a, b := s.dial(t), s.dial(t)
	a.do("PING")
	b.do("PING")
	third := s.dial(t)
	got, _ := third.readUntilClosed(5 * time.Second)
	if got != "-ERR max number of clients reached\r\n" {
		t.Fatalf("third client got %q", got)
	}
	a.conn.Close()
	testutil.Eventually(t, 5*time.Second, "a slot to free up", func() bool { return s.numClients.Load() < 2 })
	if got := s.dial(t).do("PING"); got != "PONG" {
		t.Fatalf("PING after a client left = %s", got)
	}
}

// remoteAddrListener makes every accepted connection report addr as its
// peer, so tests can play a client from another host.
type remoteAddrListener struct {
	net.Listener
	addr net.Addr
}

func (l remoteAddrListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return remoteAddrConn{c, l.addr}, nil
}

type remoteAddrConn struct {
	net.Conn
	addr net.Addr
}

func (c remoteAddrConn) RemoteAddr() net.Addr { return c.addr }

func TestProtectedMode(t *testing.T) {
	remote := &net.TCPAddr{IP: net.ParseIP("192.0.2.10"), Port: 40000}
	start := func(mutate func(*Config)) *Server {
		return startServer(t, func(c *Config) {
			c.Listener = remoteAddrListener{c.Listener, remote}
			if mutate != nil {
				mutate(c)
			}
		})
	}
	t.Run("no password refuses remote clients", func(t *testing.T) {
		got, _ := start(nil).dial(t).readUntilClosed(5 * time.Second)
		if !strings.HasPrefix(got, "-DENIED Redis is running in protected mode") || !strings.HasSuffix(got, "\r\n") {
			t.Fatalf("remote client got %q", got)
		}
	})
	t.Run("password admits remote clients", func(t *testing.T) {
		c := start(func(c *Config) { c.Settings.RequirePass = "pw" }).dial(t)
		if got := c.do("AUTH", "pw"); got != "OK" {
			t.Fatalf("AUTH = %s", got)
		}
	})
	t.Run("protected mode off admits remote clients", func(t *testing.T) {
		c := start(func(c *Config) { c.Settings.ProtectedMode = false }).dial(t)
		if got := c.do("PING"); got != "PONG" {
			t.Fatalf("PING = %s", got)
		}
	})
	t.Run("loopback clients are always admitted", func(t *testing.T) {
		if got := startServer(t, nil).dial(t).do("PING"); got != "PONG" {
			t.Fatalf("PING = %s", got)
		}
	})
}

func TestIdleTimeoutClosesClient(t *testing.T) {
	s := startServer(t, func(c *Config) { c.Settings.Timeout = 1 })
	c := s.dial(t)
	c.do("PING")
	if _, err := c.readUntilClosed(10 * time.Second); err != nil {
		t.Fatalf("idle client not closed: %v", err)
	}
}

func TestStopClosesClientsAndIsIdempotent(t *testing.T) {
	s := startServer(t, nil)
	c := s.dial(t)
	c.do("PING")
	s.Stop()
	if _, err := c.readUntilClosed(5 * time.Second); err != nil {
		t.Fatalf("client not closed by Stop: %v", err)
	}
	s.Stop()
	if err := s.Start(); err != ErrStopped {
		t.Fatalf("Start after Stop = %v, want ErrStopped", err)
	}
}
