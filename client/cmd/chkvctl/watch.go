package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/topology"
)

// versionLine is one topology version as watch prints it.
type versionLine struct {
	Time      time.Time      `json:"time"`
	Epoch     uint64         `json:"epoch"`
	Version   uint64         `json:"version"`
	Nodes     int            `json:"nodes"`
	Owned     int            `json:"owned_slots"`
	Migrating int            `json:"migrating_slots"`
	Slots     map[string]int `json:"slots"` // by node ID
	order     []string
}

func describe(t *topology.Topology, now time.Time) versionLine {
	r := ring(t)
	v := versionLine{Time: now, Epoch: t.Epoch, Version: t.Version, Nodes: len(t.Nodes), Owned: r.Owned,
		Migrating: r.Migrating, Slots: make(map[string]int, len(r.Nodes))}
	for _, n := range r.Nodes {
		v.Slots[n.ID] = n.Slots
		v.order = append(v.order, n.ID)
	}
	return v
}

func (v versionLine) write(w io.Writer, asJSON bool) {
	if asJSON {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "%s\n", b)
		return
	}
	var per []string
	for _, id := range v.order {
		per = append(per, fmt.Sprintf("%s=%d", id, v.Slots[id]))
	}
	fmt.Fprintf(w, "%s epoch=%d version=%d nodes=%d owned=%d migrating=%d %s\n", v.Time.Format("15:04:05.000"),
		v.Epoch, v.Version, v.Nodes, v.Owned, v.Migrating, strings.Join(per, " "))
}

// cmdWatch prints every topology version the client adopts until the
// command's context ends (Ctrl-C).
func cmdWatch(cc *cli.Context) error {
	if err := noArgs(cc); err != nil {
		return err
	}
	s, err := settingsFrom(cc)
	if err != nil {
		return err
	}
	w := cc.App.Writer
	c, _, cancel, _, err := connect(cc, client.WithOnTopology(func(t *topology.Topology) {
		describe(t, time.Now()).write(w, s.json)
	}))
	if err != nil {
		return err
	}
	defer cancel()
	defer c.Close()
	<-cc.Context.Done()
	return nil
}
