// Package drainport is a DataNode's drain port: a line protocol an operator
// speaks with telnet or nc to move all of a node's data away before
// stopping it.
//
//	$ telnet datanode-3 6666
//	CHKV DataNode dn-3 drain port. Type 'help'.
//	k <cluster-token>
//	draining: 1234/5461 slots moved (22.6%), 45 moving, 123456 keys, 12.3 MB moved
//	...
//	drained: node dn-3 owns no slots and can be stopped (pid 4242)
//
// Commands are k (start the drain and watch it), status, help and quit.
// "k <token>" is accepted from any peer when a token is configured; "k"
// alone only from a loopback peer. While no NameNode is active (a failover),
// k prints "waiting for an active NameNode" and retries within
// Config.StartTimeout. At Config.MaxConns a new connection evicts the one
// that has waited longest for a command, and a connection that types no
// command within Config.FirstCommandTimeout is closed, so idle sockets
// cannot lock the operator out.
// Lines end in \n, \r\n or telnet's \r\0; replies end in \r\n. Telnet IAC
// negotiation is stripped and never answered. A line longer than
// Config.MaxLineBytes, or any control or non-ASCII byte outside a telnet
// sequence, gets an ERR line and the connection is closed, so a connection
// never buffers more than Config.MaxLineBytes of input. While k streams
// progress, typing a line stops the stream (the drain goes on) and runs it.
//
// The Server does not drain anything itself: it calls the Drainer the
// DataNode gives it. It owns one goroutine per connection, and Close returns
// once every one has exited.
package drainport
