package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/client"
	"github.com/chkv/chkv/common/bytesize"
	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
)

// nodeStatus is one row of status.
type nodeStatus struct {
	ID              string `json:"id"`
	Address         string `json:"address"`
	State           string `json:"state"`
	Slots           uint32 `json:"slots"`
	Keys            int64  `json:"keys"`
	UsedMemoryBytes int64  `json:"used_memory_bytes"`
	OpsPerSec       int64  `json:"ops_per_sec"`
	HeartbeatAgeMS  int64  `json:"heartbeat_age_ms"`
	// Slots the ring gives the node that it does not own yet, and slots it
	// owns that the ring gives to another node.
	SlotsIn  uint32 `json:"slots_in"`
	SlotsOut uint32 `json:"slots_out"`
	// The node's outgoing migration: slots moving now, slots whose move
	// keeps failing, and totals handed off since the node started.
	MigratingSlots int64 `json:"migrating_slots"`
	StuckSlots     int64 `json:"stuck_slots"`
	SlotsMoved     int64 `json:"slots_moved"`
	KeysMoved      int64 `json:"keys_moved"`
	BytesMoved     int64 `json:"bytes_moved"`

	migration string // the MIGRATION cell
}

// nameNodeStatus is one NameNode of the pair as status prints it.
type nameNodeStatus struct {
	Address string `json:"address"`
	ID      string `json:"id,omitempty"`
	// Role is active, standby or unreachable.
	Role    string `json:"role"`
	Epoch   uint64 `json:"epoch,omitempty"`
	Version uint64 `json:"version,omitempty"`
	// Quorum: the active hears from a majority of the DataNodes.
	Quorum bool `json:"quorum,omitempty"`
	// On the active: how many versions the standby is behind, and when it
	// last acknowledged; -1 when it never did.
	StandbyLag   uint64 `json:"standby_lag_versions,omitempty"`
	StandbyAgeMS int64  `json:"standby_age_ms,omitempty"`
	// Why it is standby, or why the active has no majority.
	Reason string `json:"reason,omitempty"`
	Error  string `json:"error,omitempty"`

	note string // the NOTE cell
}

// clusterStatus is what status prints.
type clusterStatus struct {
	NameNodes []nameNodeStatus `json:"namenodes,omitempty"`
	NameNode  string           `json:"namenode"`
	Epoch     uint64           `json:"epoch"`
	Version   uint64           `json:"version"`
	Watchers  int64            `json:"watchers"`
	Nodes     []nodeStatus     `json:"nodes"`
	// Slots owned by one node that the ring gives to another (the sum of
	// the nodes' slots_out), and the nodes' stuck slots.
	MigratingSlots int64 `json:"migrating_slots"`
	StuckSlots     int64 `json:"stuck_slots"`
	// The witnesses (joining, up and draining DataNodes: they vote and
	// stage), how many of them may fail with the cluster still able to
	// change its topology, and those the NameNode has not heard from.
	Witnesses       []string `json:"witnesses"`
	MayFail         int      `json:"witnesses_may_fail"`
	SilentWitnesses []string `json:"silent_witnesses"`
}

// statusView is how status shows st, and its --output json form.
func statusView(st client.ClusterStatus) clusterStatus {
	v := clusterStatus{NameNode: st.NameNode, Epoch: st.Epoch, Version: st.Version, Watchers: st.Watchers,
		Nodes: []nodeStatus{}, MigratingSlots: st.MigratingSlots, StuckSlots: st.StuckSlots,
		Witnesses: st.Witnesses, MayFail: st.MayFail, SilentWitnesses: st.SilentWitnesses}
	for _, n := range st.NameNodes {
		ns := nameNodeStatus{Address: n.Address, ID: n.ID, Role: string(n.Role), Epoch: n.Epoch, Version: n.Version,
			Quorum: n.Quorum, StandbyLag: n.StandbyLag, StandbyAgeMS: n.StandbyAge.Milliseconds(), Reason: n.Reason,
			note: n.Note()}
		if n.Err != nil {
			ns.Error = n.Err.Error()
		}
		v.NameNodes = append(v.NameNodes, ns)
	}
	for _, n := range st.DataNodes {
		v.Nodes = append(v.Nodes, nodeStatus{
			ID: n.ID, Address: n.Address, State: n.State.String(), Slots: uint32(n.Slots), Keys: n.Keys,
			UsedMemoryBytes: n.UsedMemory, OpsPerSec: n.OpsPerSec, HeartbeatAgeMS: n.HeartbeatAge.Milliseconds(),
			SlotsIn: uint32(n.SlotsIn), SlotsOut: uint32(n.SlotsOut),
			MigratingSlots: n.MigratingSlots, StuckSlots: n.StuckSlots,
			SlotsMoved: n.SlotsMoved, KeysMoved: n.KeysMoved, BytesMoved: n.BytesMoved,
			migration: n.Migration(),
		})
	}
	return v
}

// cmdStatus prints the NameNode pair and the active NameNode's table of
// DataNodes.
func cmdStatus(cc *cli.Context) error {
	if err := noArgs(cc); err != nil {
		return err
	}
	return withAdmin(cc, func(s settings, a *client.Admin) error {
		st, err := a.Status(cc.Context)
		if err != nil {
			return err
		}
		if s.json {
			return writeJSON(cc.App.Writer, statusView(st))
		}
		return writeStatus(cc.App.Writer, statusView(st))
	})
}

// writeStatus prints st as a table, with a footer line while slots are
// migrating.
func writeStatus(w io.Writer, st clusterStatus) error {
	if len(st.NameNodes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMENODE\tADDRESS\tROLE\tEPOCH\tVERSION\tNOTE")
		for _, n := range st.NameNodes {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", n.ID, n.Address, n.Role, n.Epoch, n.Version, n.note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "NameNode %s  epoch %d  version %d  watchers %d\n", st.NameNode, st.Epoch, st.Version, st.Watchers)
	if len(st.Witnesses) > 0 {
		fmt.Fprintf(w, "witnesses %s: %d may fail", strings.Join(st.Witnesses, ", "), st.MayFail)
		if len(st.SilentWitnesses) > 0 {
			fmt.Fprintf(w, "; silent: %s", strings.Join(st.SilentWitnesses, ", "))
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintln(w)
	var table bytes.Buffer
	tw := tabwriter.NewWriter(&table, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tSLOTS\tIN\tOUT\tKEYS\tMEMORY\tOPS/S\tLAST HEARTBEAT\tMIGRATION")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%d\t%s ago\t%s\n", n.ID, n.Address, n.State, n.Slots,
			n.SlotsIn, n.SlotsOut, n.Keys, bytesize.Binary(n.UsedMemoryBytes), n.OpsPerSec,
			(time.Duration(n.HeartbeatAgeMS) * time.Millisecond).String(), n.migration)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// An empty MIGRATION cell leaves the padding of the column before it.
	for _, line := range strings.Split(strings.TrimSuffix(table.String(), "\n"), "\n") {
		if _, err := fmt.Fprintln(w, strings.TrimRight(line, " ")); err != nil {
			return err
		}
	}
	if st.MigratingSlots == 0 && st.StuckSlots == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nmigrating: %d slots (%d stuck)\n", st.MigratingSlots, st.StuckSlots)
	return err
}

// ringNode is one row of ring.
type ringNode struct {
	ID      string  `json:"id"`
	Address string  `json:"address"`
	State   string  `json:"state"`
	Slots   int     `json:"slots"`
	Ranges  int     `json:"ranges"`
	Share   float64 `json:"share_pct"`
	// Fair is a serving (joining or up) node's weighted share of the owned
	// slots: the mean when the weights are equal.
	Fair float64 `json:"fair_slots"`
	// Deviation is a serving node's distance from Fair, in percent of it.
	Deviation float64 `json:"deviation_pct"`
}

// ringReport is what ring prints.
type ringReport struct {
	Epoch        uint64     `json:"epoch"`
	Version      uint64     `json:"version"`
	Nodes        []ringNode `json:"nodes"`
	Owned        int        `json:"owned_slots"`
	Unowned      int        `json:"unowned_slots"`
	Migrating    int        `json:"migrating_slots"`
	Mean         float64    `json:"mean_slots"`
	MaxDeviation float64    `json:"max_deviation_pct"`
}

// ring computes the balance of t's slot table.
func ring(t *topology.Topology) ringReport {
	r := ringReport{Epoch: t.Epoch, Version: t.Version, Nodes: []ringNode{}}
	slots := make([]int, len(t.Nodes))
	ranges := make([]int, len(t.Nodes))
	for s, o := range t.Owners {
		if o == topology.Unowned {
			r.Unowned++
		} else {
			slots[o]++
			if s == 0 || t.Owners[s-1] != o {
				ranges[o]++
			}
		}
		if t.Target != nil && t.Target[s] != o {
			r.Migrating++
		}
	}
	r.Owned = slot.Count - r.Unowned
	serving, weights := 0, 0.0
	for _, n := range t.Nodes {
		if n.State == topology.Up || n.State == topology.Joining {
			serving++
			weights += float64(max(n.Weight, 1))
		}
	}
	if serving > 0 {
		r.Mean = float64(r.Owned) / float64(serving)
	}
	for i, n := range t.Nodes {
		rn := ringNode{ID: n.ID, Address: n.RESPAddr, State: n.State.String(), Slots: slots[i], Ranges: ranges[i],
			Share: 100 * float64(slots[i]) / slot.Count}
		if r.Owned > 0 && (n.State == topology.Up || n.State == topology.Joining) {
			rn.Fair = float64(r.Owned) * float64(max(n.Weight, 1)) / weights
			rn.Deviation = 100 * (float64(slots[i]) - rn.Fair) / rn.Fair
			r.MaxDeviation = max(r.MaxDeviation, abs(rn.Deviation))
		}
		r.Nodes = append(r.Nodes, rn)
	}
	return r
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// cmdRing prints how the slots are spread over the DataNodes.
func cmdRing(cc *cli.Context) error {
	if err := noArgs(cc); err != nil {
		return err
	}
	c, _, cancel, s, err := connect(cc)
	if err != nil {
		return err
	}
	defer cancel()
	defer c.Close()
	r := ring(c.Topology())
	if s.json {
		return writeJSON(cc.App.Writer, r)
	}
	return writeRing(cc.App.Writer, r)
}

func writeRing(w io.Writer, r ringReport) error {
	fmt.Fprintf(w, "epoch %d  version %d\n\n", r.Epoch, r.Version)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ID\tADDRESS\tSTATE\tSLOTS\tRANGES\tSHARE\tDEVIATION\t")
	for _, n := range r.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%.2f%%\t%+.2f%%\t\n", n.ID, n.Address, n.State, n.Slots, n.Ranges, n.Share, n.Deviation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\n%d/%d slots owned, %d unowned, %d migrating; mean %.1f slots per serving node, largest deviation %.2f%%\n",
		r.Owned, slot.Count, r.Unowned, r.Migrating, r.Mean, r.MaxDeviation)
	return err
}
