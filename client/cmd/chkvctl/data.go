package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/client"
)

// cmdGet prints the value of a key; a missing key is an error.
func cmdGet(cc *cli.Context) error {
	if cc.NArg() != 1 {
		return fmt.Errorf("get takes one KEY")
	}
	c, ctx, cancel, s, err := connect(cc)
	if err != nil {
		return err
	}
	defer cancel()
	defer c.Close()
	key := cc.Args().First()
	v, err := c.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("get %s: %w", key, err)
	}
	if s.json {
		return writeJSON(cc.App.Writer, map[string]string{"key": key, "value": v})
	}
	_, err = fmt.Fprintln(cc.App.Writer, v)
	return err
}

// cmdSet writes a value, with --ttl, --nx, --xx.
func cmdSet(cc *cli.Context) error {
	if cc.NArg() != 2 {
		return fmt.Errorf("set takes KEY and VALUE")
	}
	var opts []client.SetOption
	if cc.IsSet(flagTTL) {
		opts = append(opts, client.WithTTL(cc.Duration(flagTTL)))
	}
	if cc.Bool(flagNX) {
		opts = append(opts, client.NX())
	}
	if cc.Bool(flagXX) {
		opts = append(opts, client.XX())
	}
	c, ctx, cancel, s, err := connect(cc)
	if err != nil {
		return err
	}
	defer cancel()
	defer c.Close()
	key := cc.Args().Get(0)
	if err := c.Set(ctx, key, cc.Args().Get(1), opts...); err != nil {
		return fmt.Errorf("set %s: %w", key, err)
	}
	if s.json {
		return writeJSON(cc.App.Writer, map[string]string{"key": key, "result": "OK"})
	}
	_, err = fmt.Fprintln(cc.App.Writer, "OK")
	return err
}

// cmdDel deletes keys and prints how many existed.
func cmdDel(cc *cli.Context) error {
	if cc.NArg() == 0 {
		return fmt.Errorf("del takes at least one KEY")
	}
	c, ctx, cancel, s, err := connect(cc)
	if err != nil {
		return err
	}
	defer cancel()
	defer c.Close()
	n, err := c.Del(ctx, cc.Args().Slice()...)
	if err != nil {
		return fmt.Errorf("del: %w", err)
	}
	if s.json {
		return writeJSON(cc.App.Writer, map[string]int64{"deleted": n})
	}
	_, err = fmt.Fprintln(cc.App.Writer, n)
	return err
}
