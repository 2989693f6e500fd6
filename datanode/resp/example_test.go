package resp_test

import (
	"errors"
	"fmt"
	"strings"

	"github.com/chkv/chkv/datanode/resp"
)

func Example() {
	conn := strings.NewReader("*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$3\r\nbar\r\nGET \"foo\"\r\n\r\n*1\r\nfoo\r\n")
	rd := resp.NewReader(conn, resp.DefaultBufferSize)
	limits := resp.DefaultLimits()
	for {
		args, err := rd.Parse(&limits)
		if err == resp.ErrIncomplete {
			if err := rd.Fill(&limits); err != nil {
				fmt.Println("close:", err)
				return
			}
			continue
		}
		var perr *resp.ProtocolError
		if errors.As(err, &perr) {
			fmt.Printf("-ERR %s\n", perr)
			return
		}
		if len(args) == 0 {
			continue
		}
		fmt.Printf("%q\n", args)
	}
	// Output:
	// ["SET" "foo" "bar"]
	// ["GET" "foo"]
	// -ERR Protocol error: expected '$', got 'f'
}
