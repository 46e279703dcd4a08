package group

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
)

// TestScenarios runs the scripts in testdata/. Commands (times in ms; the
// script clock starts at 0 and only moves with advance and tick):
//
//	new [window=N] [min-distance=MS]        fresh coordinator
//	topic NAME COUNT | topic NAME=COUNT...  UpdateTopics
//	delete-topic NAME                       DeleteTopic
//	join ID topics=(T,...) [session=MS] [assignor=NAME]
//	leave ID
//	heartbeat ID [gen=G]                    Heartbeat, then Observe(G) if given
//	observe ID... [gen=G]                   Observe (default: current generation)
//	advance MS                              move the clock
//	tick [MS]                               advance MS (default 0), then Tick
//	commit ID T/P=OFF | T/P=(OFF,HW)...     Commit (HW defaults to OFF)
//	seek ID T/P
//	reset T/P=OFF...                        ResetOffsets
//	restore T/P=OFF | T/P=(OFF,HW)...       RestoreOffset
//	assignment ID | target ID
//	describe | offsets
//	lag T/P=(LOGSTART,HW)...                Lag
//
// Commands that may change assignments print the group: one line for the
// group, one per member with its effective assignment (owns), partitions it
// still holds but must give up (releasing), and target partitions it waits
// for (waiting).
func TestScenarios(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txt"), func(t *testing.T) {
			h := &harness{}
			h.reset(t, Config{})
			datadriven.RunTest(t, path, h.run)
		})
	}
}

type harness struct {
	c   *Coordinator
	now int64 // ms
}

func (h *harness) reset(t *testing.T, cfg Config) {
	c, err := NewCoordinator("g", cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.c, h.now = c, 0
}

func (h *harness) at() time.Time { return time.UnixMilli(h.now) }

func (h *harness) run(t *testing.T, d *datadriven.TestData) string {
	switch d.Cmd {
	case "new":
		var cfg Config
		var md int64
		d.MaybeScanArgs(t, "window", &cfg.LagWindowSize)
		if d.MaybeScanArgs(t, "min-distance", &md) {
			cfg.LagMinDistance = time.Duration(md) * time.Millisecond
		}
		h.reset(t, cfg)
		return "ok"
	case "topic", "delete-topic":
		return h.topic(t, d)
	case "join":
		return h.join(t, d)
	case "leave":
		return h.withGroup(h.c.Leave(h.arg(t, d, 0)))
	case "heartbeat", "observe":
		return h.observe(t, d)
	case "advance":
		h.now += h.num(t, h.arg(t, d, 0))
		return fmt.Sprintf("now=%d", h.now)
	case "tick":
		if len(d.CmdArgs) > 0 {
			h.now += h.num(t, h.arg(t, d, 0))
		}
		expired := h.c.Tick(h.at())
		return fmt.Sprintf("now=%d expired=%s\n%s", h.now, list(expired), h.group())
	case "commit", "seek", "reset", "restore":
		return h.offsets(t, d)
	case "assignment", "target":
		get := h.c.Assignment
		if d.Cmd == "target" {
			get = h.c.Target
		}
		a, err := get(h.arg(t, d, 0))
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("gen=%d %s", a.Generation, tps(a.Partitions))
	case "describe":
		return describe(h.c.Describe())
	case "offsets":
		return offsets(h.c.Offsets())
	case "lag":
		return h.lag(t, d)
	}
	d.Fatalf(t, "unknown command %q", d.Cmd)
	return ""
}

func (h *harness) arg(t *testing.T, d *datadriven.TestData, i int) string {
	if i >= len(d.CmdArgs) {
		d.Fatalf(t, "%s: missing argument %d", d.Cmd, i)
	}
	return d.CmdArgs[i].Key
}

func (h *harness) num(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("bad number %q", s)
	}
	return n
}

func (h *harness) topic(t *testing.T, d *datadriven.TestData) string {
	if d.Cmd == "delete-topic" {
		changed := h.c.DeleteTopic(h.arg(t, d, 0))
		return fmt.Sprintf("rebalanced=%t\n%s", changed, h.group())
	}
	parts := map[string]int32{}
	if len(d.CmdArgs) == 2 && len(d.CmdArgs[0].Vals) == 0 {
		parts[d.CmdArgs[0].Key] = int32(h.num(t, d.CmdArgs[1].Key))
	} else {
		for _, a := range d.CmdArgs {
			parts[a.Key] = int32(h.num(t, a.SingleVal(t)))
		}
	}
	changed := h.c.UpdateTopics(parts)
	return fmt.Sprintf("rebalanced=%t\n%s", changed, h.group())
}

func (h *harness) join(t *testing.T, d *datadriven.TestData) string {
	spec := MemberSpec{ID: h.arg(t, d, 0)}
	d.MaybeScanArgs(t, "topics", &spec.Topics)
	d.MaybeScanArgs(t, "assignor", &spec.Assignor)
	var ms int64
	if d.MaybeScanArgs(t, "session", &ms) {
		spec.SessionTimeout = time.Duration(ms) * time.Millisecond
	}
	a, err := h.c.Join(spec, h.at())
	if err != nil {
		return "error: " + err.Error()
	}
	return fmt.Sprintf("%s: gen=%d %s\n%s", spec.ID, a.Generation, tps(a.Partitions), h.group())
}

func (h *harness) observe(t *testing.T, d *datadriven.TestData) string {
	gen, hasGen := h.c.Generation(), false
	if d.HasArg("gen") {
		d.ScanArgs(t, "gen", &gen)
		hasGen = true
	}
	var out []string
	for _, a := range d.CmdArgs {
		if a.Key == "gen" {
			continue
		}
		if d.Cmd == "heartbeat" {
			if err := h.c.Heartbeat(a.Key, h.at()); err != nil {
				return "error: " + err.Error()
			}
			if !hasGen {
				continue
			}
		}
		granted, err := h.c.Observe(a.Key, gen)
		if err != nil {
			return "error: " + err.Error()
		}
		if len(granted) > 0 {
			out = append(out, "granted: "+list(granted))
		}
	}
	if d.Cmd == "heartbeat" && !hasGen {
		return "ok"
	}
	return strings.Join(append(out, h.group()), "\n")
}

func (h *harness) withGroup(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return h.group()
}
