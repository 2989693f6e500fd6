package datanode

// redacted replaces secrets in what MONITOR and SLOWLOG show.
var redacted = []byte("(redacted)")

// redactArgs returns args as MONITOR and SLOWLOG show them: with the
// passwords of AUTH, HELLO ... AUTH and CONFIG SET requirepass replaced by
// "(redacted)", as Redis's redactClientCommandArgument does. args itself
// is not changed; it is returned as is when nothing is secret.
func redactArgs(args [][]byte) [][]byte {
	var secret []int
	switch {
	case equalFold(args[0], "auth"):
		for i := 1; i < len(args); i++ {
			secret = append(secret, i)
		}
	case equalFold(args[0], "hello"):
		for i := 2; i < len(args); i++ {
			if equalFold(args[i], "auth") && i+2 < len(args) {
				secret = append(secret, i+1, i+2)
				i += 2
			} else if equalFold(args[i], "setname") {
				i++
			}
		}
	case equalFold(args[0], "config") && len(args) > 1 && equalFold(args[1], "set"):
		for i := 2; i+1 < len(args); i += 2 {
			if equalFold(args[i], "requirepass") || equalFold(args[i], "masterauth") {
				secret = append(secret, i+1)
			}
		}
	}
	if secret == nil {
		return args
	}
	out := append([][]byte(nil), args...)
	for _, i := range secret {
		out[i] = redacted
	}
	return out
}
