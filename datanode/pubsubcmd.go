package datanode

import "fmt"

// pubsubCommands are the Pub/Sub commands: (P|S)SUBSCRIBE,
// (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH and PUBSUB, as Redis 7.0 has them on
// a single node.
func pubsubCommands() []*command {
	const (
		subFlags = flagPubSub | flagNoScript | flagLoading | flagStale
		pubFlags = flagPubSub | flagLoading | flagStale | flagFast
		info     = flagPubSub | flagLoading | flagStale
	)
	notKey := []string{"not_key"}
	return []*command{
		{name: "subscribe", arity: -2, flags: subFlags, run: cmdSubscribe,
			doc: commandDoc{"pubsub", "Listen for messages published to the given channels", "2.0.0", "O(N) where N is the number of channels to subscribe to.", "channel [channel ...]"}},
		{name: "psubscribe", arity: -2, flags: subFlags, run: cmdPSubscribe,
			doc: commandDoc{"pubsub", "Listen for messages published to channels matching the given patterns", "2.0.0", "O(N) where N is the number of patterns the client is already subscribed to.", ""},
			// Redis 7.0 describes the patterns as a repeated block.
			extra: &docExtra{args: []docArg{{name: "pattern", typ: argBlock, multiple: true,
				args: []docArg{{name: "pattern", typ: argPattern}}}}}},
		{name: "ssubscribe", arity: -2, flags: subFlags, run: cmdSSubscribe, firstKey: 1, lastKey: -1, keyStep: 1, keyFlags: notKey,
			doc: commandDoc{"pubsub", "Listen for messages published to the given shard channels", "7.0.0", "O(N) where N is the number of shard channels to subscribe to.", "shardchannel [shardchannel ...]"}},
		{name: "unsubscribe", arity: -1, flags: subFlags, run: cmdUnsubscribe,
			doc: commandDoc{"pubsub", "Stop listening for messages posted to the given channels", "2.0.0", "O(N) where N is the number of clients already subscribed to a channel.", "[channel [channel ...]]"}},
		{name: "punsubscribe", arity: -1, flags: subFlags, run: cmdPUnsubscribe,
			doc: commandDoc{"pubsub", "Stop listening for messages posted to channels matching the given patterns", "2.0.0", "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", "[pattern [pattern ...]]"}},
		{name: "sunsubscribe", arity: -1, flags: subFlags, run: cmdSUnsubscribe, firstKey: 1, lastKey: -1, keyStep: 1, keyFlags: notKey,
			doc: commandDoc{"pubsub", "Stop listening for messages posted to the given shard channels", "7.0.0", "O(N) where N is the number of clients already subscribed to a shard channel.", "[shardchannel [shardchannel ...]]"}},
		{name: "publish", arity: 3, flags: pubFlags, run: cmdPublish,
			doc: commandDoc{"pubsub", "Post a message to a channel", "2.0.0", "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).", "channel message"}},
		{name: "spublish", arity: 3, flags: pubFlags, run: cmdSPublish, firstKey: 1, lastKey: 1, keyStep: 1, keyFlags: notKey,
			doc: commandDoc{"pubsub", "Post a message to a shard channel", "7.0.0", "O(N) where N is the number of clients subscribed to the receiving shard channel.", "shardchannel message"}},
		newContainer("pubsub", -2, 0, commandDoc{"pubsub", "A container for Pub/Sub commands", "2.8.0", "Depends on subcommand.", ""},
			[]*command{
				{name: "pubsub|numsub", arity: -2, flags: info, run: cmdPubSubNumSub,
					doc: commandDoc{"pubsub", "Get the count of subscribers for channels", "2.8.0", "O(N) for the NUMSUB subcommand, where N is the number of requested channels", "[channel [channel ...]]"}},
				{name: "pubsub|channels", arity: -2, flags: info, run: cmdPubSubChannels,
					doc: commandDoc{"pubsub", "List active channels", "2.8.0", "O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)", "[pattern]"}},
				{name: "pubsub|help", arity: 2, flags: flagLoading | flagStale, run: cmdPubSubHelp,
					doc: commandDoc{"pubsub", "Show helpful text about the different subcommands", "6.2.0", "O(1)", ""}},
				{name: "pubsub|shardchannels", arity: -2, flags: info, run: cmdPubSubShardChannels,
					doc: commandDoc{"pubsub", "List active shard channels", "7.0.0", "O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).", "[pattern]"}},
				{name: "pubsub|shardnumsub", arity: -2, flags: info, run: cmdPubSubShardNumSub,
					doc: commandDoc{"pubsub", "Get the count of subscribers for shard channels", "7.0.0", "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", "[shardchannel [shardchannel ...]]"}},
				{name: "pubsub|numpat", arity: 2, flags: info, run: cmdPubSubNumPat,
					doc: commandDoc{"pubsub", "Get the count of unique patterns pattern subscriptions", "2.8.0", "O(1)", ""}},
			}),
	}
}

func cmdSubscribe(c *client, args [][]byte)  { c.srv.pubsub.subscribe(c, kindChannel, args[1:]) }
func cmdPSubscribe(c *client, args [][]byte) { c.srv.pubsub.subscribe(c, kindPattern, args[1:]) }
func cmdSSubscribe(c *client, args [][]byte) { c.srv.pubsub.subscribe(c, kindShard, args[1:]) }

func cmdUnsubscribe(c *client, args [][]byte)  { c.srv.pubsub.unsubscribe(c, kindChannel, args[1:]) }
func cmdPUnsubscribe(c *client, args [][]byte) { c.srv.pubsub.unsubscribe(c, kindPattern, args[1:]) }
func cmdSUnsubscribe(c *client, args [][]byte) { c.srv.pubsub.unsubscribe(c, kindShard, args[1:]) }

// cmdPublish delivers to this node's subscribers, then forwards to the
// other DataNodes; as in Redis Cluster the reply counts local receivers.
func cmdPublish(c *client, args [][]byte) {
	n := c.srv.publish(args[1], args[2], false)
	c.srv.forwardPublish(args[1], args[2])
	c.replyInt(n)
}

func cmdSPublish(c *client, args [][]byte) { c.replyInt(c.srv.publish(args[1], args[2], true)) }

func cmdPubSubChannels(c *client, args [][]byte)      { replyChannelNames(c, kindChannel, args) }
func cmdPubSubShardChannels(c *client, args [][]byte) { replyChannelNames(c, kindShard, args) }

// replyChannelNames answers PUBSUB CHANNELS and SHARDCHANNELS [pattern].
func replyChannelNames(c *client, kind subKind, args [][]byte) {
	var pattern []byte
	switch len(args) {
	case 2:
	case 3:
		pattern = args[2]
	default:
		c.replyError(fmt.Sprintf("ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", args[1]))
		return
	}
	c.replyStrings(c.srv.pubsub.channelNames(kind, pattern))
}

func cmdPubSubNumSub(c *client, args [][]byte)      { replyNumSub(c, kindChannel, args[2:]) }
func cmdPubSubShardNumSub(c *client, args [][]byte) { replyNumSub(c, kindShard, args[2:]) }

// replyNumSub answers PUBSUB NUMSUB and SHARDNUMSUB: each channel and its
// number of subscribers.
func replyNumSub(c *client, kind subKind, channels [][]byte) {
	c.replyArray(2 * len(channels))
	for _, ch := range channels {
		c.replyBulk(ch)
		c.replyInt(c.srv.pubsub.numSubscribers(kind, ch))
	}
}

func cmdPubSubNumPat(c *client, _ [][]byte) { c.replyInt(c.srv.pubsub.numNames(kindPattern)) }

func cmdPubSubHelp(c *client, _ [][]byte) {
	c.replyHelp("pubsub", []string{
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
	})
}

// pubsubContextCommands are the commands a RESP2 client with subscriptions
// may run.
var pubsubContextCommands = map[string]bool{
	"ping": true, "quit": true, "reset": true,
	"subscribe": true, "psubscribe": true, "ssubscribe": true,
	"unsubscribe": true, "punsubscribe": true, "sunsubscribe": true,
}

// pubsubContextError is Redis's refusal of cmd to a client with
// subscriptions, or "" when cmd may run (or, for an unknown subcommand or a
// subcommand's wrong arity, runs to report that error first, as in Redis).
func pubsubContextError(cmd *command, args [][]byte) string {
	if pubsubContextCommands[cmd.name] {
		return ""
	}
	name := cmd.name
	if len(cmd.subcommands) > 0 {
		sub := cmd.subcommand(args[1])
		if sub == nil || !sub.arityOK(len(args)) {
			return ""
		}
		name = sub.name
	}
	return "ERR Can't execute '" + name + "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
}

// replySubscribedPong is PING's reply to a client with subscriptions:
// [pong message], the message empty when not given.
func replySubscribedPong(c *client, args [][]byte) {
	c.replyArray(2)
	c.replyBulkString("pong")
	if len(args) == 2 {
		c.replyBulk(args[1])
	} else {
		c.replyBulkString("")
	}
}
