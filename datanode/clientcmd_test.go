package datanode

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chkv/chkv/helper/testutil"
)

func TestClientScripts(t *testing.T) {
	scriptTest(t, "errors", []step{
		{"CLIENT", "(error) ERR wrong number of arguments for 'client' command"},
		{"CLIENT NOSUCH", "(error) ERR unknown subcommand 'NOSUCH'. Try CLIENT HELP."},
		{"CLIENT SETNAME", "(error) ERR wrong number of arguments for 'client|setname' command"},
		{"client setname a b", "(error) ERR wrong number of arguments for 'client|setname' command"},
		{`CLIENT SETNAME "a b"`, "(error) ERR Client names cannot contain spaces, newlines or special characters."},
		{`CLIENT SETNAME "a\nb"`, "(error) ERR Client names cannot contain spaces, newlines or special characters."},
		{"CLIENT ID x", "(error) ERR wrong number of arguments for 'client|id' command"},
		{"CLIENT GETNAME x", "(error) ERR wrong number of arguments for 'client|getname' command"},
		{"CLIENT INFO x", "(error) ERR wrong number of arguments for 'client|info' command"},
		{"CLIENT KILL", "(error) ERR wrong number of arguments for 'client|kill' command"},
		{"CLIENT KILL 1.2.3.4:5", "(error) ERR No such client"},
		{"CLIENT KILL ID", "(error) ERR No such client"},
		{"CLIENT KILL ID x", "(error) ERR client-id should be greater than 0"},
		{"CLIENT KILL ID 0", "(error) ERR client-id should be greater than 0"},
		{"CLIENT KILL ID 99999", "(integer) 0"},
		{"CLIENT KILL foo bar", "(error) ERR syntax error"},
		{"CLIENT KILL ID 1 TYPE", "(error) ERR syntax error"},
		{"CLIENT KILL SKIPME maybe", "(error) ERR syntax error"},
		{"CLIENT KILL TYPE foo", "(error) ERR Unknown client type 'foo'"},
		{"CLIENT KILL TYPE master", "(integer) 0"},
		{"CLIENT KILL USER nobody", "(error) ERR No such user 'nobody'"},
		{"CLIENT KILL ADDR 1.2.3.4:5 SKIPME no", "(integer) 0"},
		{"CLIENT KILL TYPE normal SKIPME yes", "(integer) 0"},
		{"CLIENT LIST TYPE foo", "(error) ERR Unknown client type 'foo'"},
		{"CLIENT LIST TYPE pubsub", `""`},
		{"CLIENT LIST ID x", "(error) ERR Invalid client ID"},
		{"CLIENT LIST ID 99998 99999", `""`},
		{"CLIENT LIST foo", "(error) ERR syntax error"},
		{"CLIENT LIST TYPE normal x", "(error) ERR syntax error"},
	})
	scriptTest(t, "names", []step{
		{"CLIENT GETNAME", "(nil)"},
		{"CLIENT SETNAME conn-1", "OK"},
		{"CLIENT GETNAME", `"conn-1"`},
		{`CLIENT SETNAME ""`, "OK"},
		{"CLIENT GETNAME", "(nil)"},
		{"CLIENT ID", "*"},
	})
}

// clientLine matches a CLIENT LIST line in Redis 7's format, plus the
// lib-name and lib-ver fields of Redis 7.2.
var clientLine = regexp.MustCompile(`^id=(\d+) addr=(\S+) laddr=(\S+) fd=-?\d+ name=(\S*) age=\d+ idle=\d+ flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf=\d+ qbuf-free=\d+ argv-mem=\d+ multi-mem=0 rbs=\d+ rbp=\d+ obl=\d+ oll=0 omem=0 tot-mem=\d+ events=rw? cmd=(\S+) user=default redir=-1 resp=2 lib-name=(\S*) lib-ver=(\S*)$`)

// clientList runs CLIENT LIST (with args) and parses its lines.
func clientList(t testing.TB, c *respConn, args ...string) [][]string {
	t.Helper()
	v, ok := c.doAny(append([]string{"CLIENT", "LIST"}, args...)...).([]byte)
	if !ok {
		t.Fatalf("CLIENT LIST %v did not reply with a bulk string", args)
	}
	text := string(v)
	if text == "" {
		return nil
	}
	if !strings.HasSuffix(text, "\n") {
		t.Fatalf("CLIENT LIST does not end in a newline: %q", text)
	}
	var out [][]string
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		m := clientLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("CLIENT LIST line not in Redis's format:\n%s", line)
		}
		out = append(out, m)
	}
	return out
}

func TestClientListAndInfo(t *testing.T) {
	s := startServer(t, nil)
	a, b := s.dial(t), s.dial(t)
	aID := a.do("CLIENT", "ID")
	a.do("CLIENT", "SETNAME", "alpha")
	a.do("CLIENT", "SETINFO", "lib-name", "mylib")
	a.do("CLIENT", "SETINFO", "LIB-VER", "1.2.3")
	b.do("PING")

	lines := clientList(t, b)
	if len(lines) != 2 {
		t.Fatalf("CLIENT LIST has %d lines, want 2", len(lines))
	}
	first, second := lines[0], lines[1]
	if "(integer) "+first[1] != aID {
		t.Errorf("first CLIENT LIST line is client %s, want %s (connection order)", first[1], aID)
	}
	if first[2] != a.conn.LocalAddr().String() || first[3] != s.Addr().String() {
		t.Errorf("addr=%s laddr=%s, want %s and %s", first[2], first[3], a.conn.LocalAddr(), s.Addr())
	}
	if first[4] != "alpha" || first[5] != "client|setinfo" || first[6] != "mylib" || first[7] != "1.2.3" {
		t.Errorf("client a: name=%s cmd=%s lib-name=%s lib-ver=%s", first[4], first[5], first[6], first[7])
	}
	if second[5] != "client|list" {
		t.Errorf("calling client's cmd=%s, want client|list", second[5])
	}

	info, ok := a.doAny("CLIENT", "INFO").([]byte)
	if !ok || !strings.HasSuffix(string(info), "\n") {
		t.Fatalf("CLIENT INFO = %q", info)
	}
	m := clientLine.FindStringSubmatch(strings.TrimSuffix(string(info), "\n"))
	if m == nil || "(integer) "+m[1] != aID || m[5] != "client|info" {
		t.Errorf("CLIENT INFO = %q", info)
	}

	if got := clientList(t, b, "ID", first[1], "99999"); len(got) != 1 || got[0][1] != first[1] {
		t.Errorf("CLIENT LIST ID %s 99999 = %v", first[1], got)
	}
	if got := clientList(t, b, "TYPE", "NORMAL"); len(got) != 2 {
		t.Errorf("CLIENT LIST TYPE NORMAL has %d lines", len(got))
	}
	for _, tc := range []struct{ cmd, want string }{
		{"CLIENT SETINFO lib-name", "(error) ERR wrong number of arguments for 'client|setinfo' command"},
		{"CLIENT SETINFO foo x", "(error) ERR Unrecognized option 'foo'"},
		{`CLIENT SETINFO LIB-NAME "a b"`, "(error) ERR LIB-NAME cannot contain spaces, newlines or special characters."},
	} {
		if got := b.do(splitArgs(t, tc.cmd)...); got != tc.want {
			t.Errorf("%s = %s, want %s", tc.cmd, got, tc.want)
		}
	}
}

func TestClientKill(t *testing.T) {
	s := startServer(t, nil)
	killer, victim, other := s.dial(t), s.dial(t), s.dial(t)
	victimID := strings.TrimPrefix(victim.do("CLIENT", "ID"), "(integer) ")
	other.do("PING")

	if got := killer.do("CLIENT", "KILL", "ID", victimID); got != "(integer) 1" {
		t.Fatalf("CLIENT KILL ID %s = %s", victimID, got)
	}
	if rest, err := victim.readUntilClosed(5 * time.Second); err != nil || rest != "" {
		t.Fatalf("killed client read %q, %v; want EOF", rest, err)
	}
	if n := len(clientList(t, killer)); n != 2 {
		t.Errorf("after the kill CLIENT LIST has %d clients, want 2", n)
	}

	// Old form: by address, OK or an error.
	addr := other.conn.LocalAddr().String()
	if got := killer.do("CLIENT", "KILL", addr); got != "OK" {
		t.Fatalf("CLIENT KILL %s = %s", addr, got)
	}
	if _, err := other.readUntilClosed(5 * time.Second); err != nil {
		t.Fatalf("client killed by address: %v", err)
	}
	if got := killer.do("CLIENT", "KILL", addr); got != "(error) ERR No such client" {
		t.Errorf("second CLIENT KILL %s = %s", addr, got)
	}

	// SKIPME defaults to yes; with no a client may kill itself, after the
	// reply.
	id := strings.TrimPrefix(killer.do("CLIENT", "ID"), "(integer) ")
	if got := killer.do("CLIENT", "KILL", "ID", id); got != "(integer) 0" {
		t.Errorf("CLIENT KILL own ID = %s, want 0 (SKIPME yes)", got)
	}
	if got := killer.do("CLIENT", "KILL", "LADDR", s.Addr().String(), "SKIPME", "no"); got != "(integer) 1" {
		t.Errorf("CLIENT KILL LADDR ... SKIPME no = %s", got)
	}
	if rest, err := killer.readUntilClosed(5 * time.Second); err != nil || rest != "" {
		t.Fatalf("self-killed client read %q, %v; want EOF", rest, err)
	}
	testutil.Eventually(t, 5*time.Second, "all clients gone", func() bool { return s.numClients.Load() == 0 })
	if n, _ := strconv.Atoi(strings.TrimPrefix(s.dial(t).do("CLIENT", "ID"), "(integer) ")); n <= 3 {
		t.Errorf("new client ID %d reuses an old one", n)
	}
}

func TestClientHelp(t *testing.T) {
	s := startServer(t, nil)
	got := s.dial(t).do("CLIENT", "HELP")
	for _, want := range []string{"[CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:", "SETNAME <name>", "KILL <ip:port>", "HELP     Prints this help.]"} {
		if !strings.Contains(got, want) {
			t.Errorf("CLIENT HELP lacks %q:\n%s", want, got)
		}
	}
}
