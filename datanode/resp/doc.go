// Package resp reads client requests in the Redis serialization protocol
// (RESP) incrementally, enforcing the limits Redis 7.0 enforces on requests.
//
// A Reader owns a byte buffer fed from a connection. Parse extracts one
// command from the bytes already buffered and never performs I/O; Fill
// performs one Read from the connection. A connection loop looks like:
//
//	rd := resp.NewReader(conn, resp.DefaultBufferSize)
//	limits := resp.DefaultLimits()
//	for {
//		args, err := rd.Parse(&limits)
//		if err == resp.ErrIncomplete {
//			flushReplies()
//			if err := rd.Fill(&limits); err != nil {
//				return // close; ErrQueryBufferLimit closes without a reply
//			}
//			continue
//		}
//		var perr *resp.ProtocolError
//		if errors.As(err, &perr) {
//			// reply "-ERR " + perr.Error() + "\r\n", flush, close
//		}
//		if len(args) == 0 {
//			continue // empty command (blank inline line, *0, *-1): ignored
//		}
//		execute(args) // args are valid until the next Parse or Fill
//	}
//
// # Request formats
//
// A request whose first byte is '*' is a multibulk request
// ("*<count>\r\n" followed by count bulks "$<len>\r\n<data>\r\n"); its
// arguments are sub-slices of the Reader's buffer, so parsing a command
// allocates nothing. Any other first byte starts an inline request: one line
// terminated by "\n" or "\r\n", split into arguments as Redis's
// sdssplitargs does (double quotes with \n \r \t \b \a \\ \" \xHH escapes,
// single quotes with \' only, a closing quote must be followed by a blank or
// the end of the line). Inline arguments are freshly allocated.
//
// # Memory and time
//
// Nothing is allocated from a declared count or length before the bytes
// arrive: the buffer starts at its resting size (NewReader) and, while a
// command larger than it arrives, grows geometrically, to at most twice the
// bytes received and never beyond the size of the command once its last
// bulk's length is known. The argument vector grows with the arguments
// actually parsed. Once the big command has been consumed, Fill shrinks the
// buffer back to its resting size and drops argument vectors of more than
// 1024 entries. A command received over many reads is parsed once: Parse
// resumes where it stopped, so the total work is linear in the bytes
// received.
//
// # Errors
//
// Protocol errors are *ProtocolError values whose Error text is the exact
// Redis 7.0 message without the "ERR " prefix, e.g. "Protocol error: invalid
// bulk length". They are sticky: every later Parse returns the same error.
// The conditions follow src/networking.c (processInlineBuffer,
// processMultibulkBuffer) with these deliberate differences, all of which make
// the outcome independent of how the bytes are split across reads:
//
//   - a line (inline request, "*" or "$" header) longer than
//     Limits.MaxInline is rejected even if its terminator arrived in the same
//     read (Redis only notices when a read leaves more than MaxInline bytes
//     without a terminator);
//   - a "*" or "$" header line must end in "\r\n" (Redis skips whatever
//     byte follows the '\r'); otherwise the count is invalid;
//   - bulk data must be followed by "\r\n" (Redis skips the two bytes
//     unchecked); otherwise Parse returns "Protocol error: expected CRLF
//     after bulk data", a message Redis does not have;
//   - NUL bytes are ordinary bytes (Redis's C string scanning stops at them);
//   - the query buffer limit is measured per command, see Reader.Fill.
package resp
