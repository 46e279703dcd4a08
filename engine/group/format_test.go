package group

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cockroachdb/datadriven"
)

// offsets runs commit, seek, reset and restore.
func (h *harness) offsets(t *testing.T, d *datadriven.TestData) string {
	args := d.CmdArgs
	id := ""
	if d.Cmd == "commit" || d.Cmd == "seek" {
		id, args = h.arg(t, d, 0), args[1:]
	}
	if d.Cmd == "seek" {
		if err := h.c.Seek(id, parseTP(t, args[0].Key)); err != nil {
			return "error: " + err.Error()
		}
		return "ok"
	}
	var commits []OffsetCommit
	for _, a := range args {
		oc := OffsetCommit{TopicPartition: parseTP(t, a.Key)}
		oc.Offset = h.num(t, a.Vals[0])
		oc.HighWatermark = oc.Offset
		if len(a.Vals) > 1 {
			oc.HighWatermark = h.num(t, a.Vals[1])
		}
		commits = append(commits, oc)
	}
	switch d.Cmd {
	case "commit":
		got, err := h.c.Commit(id, commits, h.at())
		if err != nil {
			return "error: " + err.Error()
		}
		return "committed: " + offsets(got)
	case "reset":
		var pos []PartitionOffset
		for _, oc := range commits {
			pos = append(pos, PartitionOffset{oc.TopicPartition, oc.Offset})
		}
		if err := h.c.ResetOffsets(pos); err != nil {
			return "error: " + err.Error()
		}
	default:
		for _, oc := range commits {
			h.c.RestoreOffset(oc, h.at())
		}
	}
	return offsets(h.c.Offsets())
}

func (h *harness) lag(t *testing.T, d *datadriven.TestData) string {
	marks := map[TopicPartition]Watermarks{}
	for _, a := range d.CmdArgs {
		a.ExpectNumVals(t, 2)
		marks[parseTP(t, a.Key)] = Watermarks{LogStart: h.num(t, a.Vals[0]), HighWatermark: h.num(t, a.Vals[1])}
	}
	g := h.c.Lag(h.at(), marks)
	var b strings.Builder
	fmt.Fprintf(&b, "group %s status=%s total=%d", g.Group, g.Status, g.TotalLag)
	if g.MaxLag != nil {
		fmt.Fprintf(&b, " max=%s:%d", g.MaxLag.TopicPartition, g.MaxLag.Lag)
	}
	for _, p := range g.Partitions {
		fmt.Fprintf(&b, "\n%s committed=%d hw=%d lag=%d status=%s window=", p.TopicPartition,
			p.Committed, p.HighWatermark, p.Lag, p.Status)
		var es []string
		for _, e := range p.Window {
			es = append(es, fmt.Sprintf("%d/%d@%d", e.Offset, e.Lag, e.Time.UnixMilli()))
		}
		b.WriteString("[" + strings.Join(es, " ") + "]")
	}
	return b.String()
}

func parseTP(t *testing.T, s string) TopicPartition {
	i := strings.LastIndexByte(s, '/')
	p, err := strconv.ParseInt(s[i+1:], 10, 32)
	if i < 0 || err != nil {
		t.Fatalf("bad partition %q", s)
	}
	return TopicPartition{Topic: s[:i], Partition: int32(p)}
}

// group prints the group line and one line per member.
func (h *harness) group() string {
	d := h.c.Describe()
	var b strings.Builder
	fmt.Fprintf(&b, "gen=%d state=%s", d.Generation, d.State)
	for _, m := range d.Members {
		fmt.Fprintf(&b, "\n  %s owns=%s", m.ID, tps(m.Assignment))
		if len(m.Releasing) > 0 {
			fmt.Fprintf(&b, " releasing=%s", tps(m.Releasing))
		}
		if w := minus(m.Target, m.Assignment); len(w) > 0 {
			fmt.Fprintf(&b, " waiting=%s", tps(w))
		}
	}
	return b.String()
}

func describe(d Description) string {
	var b strings.Builder
	fmt.Fprintf(&b, "group=%s state=%s gen=%d assignor=%s", d.Group, d.State, d.Generation, d.Assignor)
	for _, m := range d.Members {
		fmt.Fprintf(&b, "\n  member %s topics=%s session=%d last-seen=%d observed=%d",
			m.ID, strings.Join(m.Topics, ","), m.SessionTimeout.Milliseconds(),
			m.LastSeen.UnixMilli(), m.Observed)
		fmt.Fprintf(&b, "\n    assignment=%s target=%s releasing=%s",
			tps(m.Assignment), tps(m.Target), tps(m.Releasing))
	}
	fmt.Fprintf(&b, "\n  offsets: %s", offsets(d.Offsets))
	return b.String()
}

// tps prints partitions grouped by topic: "orders:0,1,2 payments:0", or "-".
func tps(list []TopicPartition) string {
	if len(list) == 0 {
		return "-"
	}
	var parts []string
	for i, tp := range list {
		if i == 0 || list[i-1].Topic != tp.Topic {
			parts = append(parts, fmt.Sprintf("%s:%d", tp.Topic, tp.Partition))
			continue
		}
		parts[len(parts)-1] += fmt.Sprintf(",%d", tp.Partition)
	}
	return strings.Join(parts, " ")
}

func offsets(list []PartitionOffset) string {
	if len(list) == 0 {
		return "-"
	}
	var parts []string
	for _, o := range list {
		parts = append(parts, fmt.Sprintf("%s=%d", o.TopicPartition, o.Offset))
	}
	return strings.Join(parts, " ")
}

func list(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ",")
}

// minus returns the partitions of a not in b.
func minus(a, b []TopicPartition) []TopicPartition {
	in := map[TopicPartition]bool{}
	for _, tp := range b {
		in[tp] = true
	}
	var out []TopicPartition
	for _, tp := range a {
		if !in[tp] {
			out = append(out, tp)
		}
	}
	return out
}
