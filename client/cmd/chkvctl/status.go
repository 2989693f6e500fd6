package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/chkv/chkv/common/slot"
	"github.com/chkv/chkv/common/topology"
	"github.com/chkv/chkv/proto/chkvpb"
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
}

// migration summarizes the node's outgoing migration for the table: empty
// when nothing is moving or stuck.
func (n nodeStatus) migration() string {
	var parts []string
	if n.MigratingSlots > 0 {
		parts = append(parts, fmt.Sprintf("%d moving", n.MigratingSlots))
	}
	if n.StuckSlots > 0 {
		parts = append(parts, fmt.Sprintf("%d stuck", n.StuckSlots))
	}
	return strings.Join(parts, ", ")
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

func statusFromProto(r *chkvpb.StatusResponse) clusterStatus {
	s := clusterStatus{NameNode: r.GetNamenodeId(), Epoch: r.GetEpoch(), Version: r.GetVersion(), Watchers: r.GetWatchers(), Nodes: []nodeStatus{},
		Witnesses: append([]string{}, r.GetWitnesses()...), SilentWitnesses: append([]string{}, r.GetSilentWitnesses()...)}
	s.MayFail = max(0, (len(s.Witnesses)-1)/2)
	for _, n := range r.GetNodes() {
		ns := nodeStatusFromProto(n)
		s.Nodes = append(s.Nodes, ns)
		s.MigratingSlots += int64(ns.SlotsOut)
		s.StuckSlots += ns.StuckSlots
	}
	return s
}

func nodeStatusFromProto(n *chkvpb.NodeStatus) nodeStatus {
	load := n.GetNode().GetLoad()
	return nodeStatus{
		ID: n.GetNode().GetId(), Address: n.GetNode().GetRespAddr(),
		State: topology.State(n.GetNode().GetState()).String(),
		Slots: n.GetSlots(), Keys: load.GetKeys(),
		UsedMemoryBytes: load.GetUsedMemoryBytes(),
		OpsPerSec:       load.GetOpsPerSec(),
		HeartbeatAgeMS:  n.GetHeartbeatAgeMs(),
		SlotsIn:         n.GetSlotsIn(), SlotsOut: n.GetSlotsOut(),
		MigratingSlots: load.GetMigratingSlots(), StuckSlots: load.GetStuckSlots(),
		SlotsMoved: load.GetSlotsMoved(), KeysMoved: load.GetKeysMoved(), BytesMoved: load.GetBytesMoved(),
	}
}

// cmdStatus prints the NameNode pair and the active NameNode's table of
// DataNodes.
func cmdStatus(cc *cli.Context) error {
	if err := noArgs(cc); err != nil {
		return err
	}
	s, err := settingsFrom(cc)
	if err != nil {
		return err
	}
	nns, err := dialNameNodes(s)
	if err != nil {
		return err
	}
	defer nns.Close()
	answers, errs := nns.statusAll(cc.Context)
	st, err := pairStatus(nns.addrs, answers, errs)
	if err != nil {
		return err
	}
	if s.json {
		return writeJSON(cc.App.Writer, st)
	}
	return writeStatus(cc.App.Writer, st)
}

// pairStatus builds the status from every NameNode's answer: the pair's
// roles, and the DataNodes as the active one (else the first that
// answered) sees them.
func pairStatus(addrs []string, answers []*chkvpb.StatusResponse, errs []error) (clusterStatus, error) {
	var main *chkvpb.StatusResponse
	var nns []nameNodeStatus
	for i, a := range answers {
		ns := nameNodeStatus{Address: addrs[i], Role: "unreachable"}
		if a == nil {
			ns.Error = errs[i].Error()
			nns = append(nns, ns)
			continue
		}
		ns.ID, ns.Epoch, ns.Version, ns.Quorum = a.GetNamenodeId(), a.GetEpoch(), a.GetVersion(), a.GetQuorum()
		ns.Reason = a.GetReason()
		ns.Role = "standby"
		if a.GetRole() == chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE {
			ns.Role = "active"
			if p := a.GetPeer(); p != nil {
				ns.StandbyLag, ns.StandbyAgeMS = p.GetLagVersions(), p.GetAgeMs()
			}
			if main == nil || main.GetRole() != chkvpb.NameNodeRole_NAMENODE_ROLE_ACTIVE {
				main = a
			}
		}
		if main == nil {
			main = a
		}
		nns = append(nns, ns)
	}
	if main == nil {
		return clusterStatus{}, errors.Join(errs...)
	}
	st := statusFromProto(main)
	st.NameNodes = nns
	return st, nil
}

// writeStatus prints st as a table, with a footer line while slots are
// migrating.
func writeStatus(w io.Writer, st clusterStatus) error {
	if len(st.NameNodes) > 0 {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAMENODE\tADDRESS\tROLE\tEPOCH\tVERSION\tNOTE")
		for _, n := range st.NameNodes {
			note := n.Error
			switch {
			case n.Role == "active" && !n.Quorum && n.Reason != "":
				note = n.Reason + ": not changing the topology"
			case n.Role == "active" && !n.Quorum:
				note = "no majority of datanodes: not changing the topology"
			case n.Role == "standby" && n.Reason != "":
				note = n.Reason
			case n.Role == "active" && n.StandbyAgeMS < 0:
				note = "no standby following"
			case n.Role == "active":
				note = fmt.Sprintf("standby lag %d versions, acked %s ago", n.StandbyLag, time.Duration(n.StandbyAgeMS)*time.Millisecond)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", n.ID, n.Address, n.Role, n.Epoch, n.Version, note)
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
			n.SlotsIn, n.SlotsOut, n.Keys, humanBytes(n.UsedMemoryBytes), n.OpsPerSec,
			(time.Duration(n.HeartbeatAgeMS) * time.Millisecond).String(), n.migration())
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

// humanBytes renders n in binary units with one decimal.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n), -1
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%ciB", f, "KMGTP"[i])
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
