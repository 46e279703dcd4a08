package clustertest

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// restart restarts broker id and lets the producers use it again once it
// describes the topic.
func (f *faultRun) restart(t *testing.T, id int) {
	t.Helper()
	f.c.Restart(t, id)
	brokertest.WaitFor(t, recoverTimeout, fmt.Sprintf("broker %d to know topic %s", id, faultTopic), func() error {
		_, err := f.describeAt(id)
		return err
	})
	f.net.setUsable(id, true)
}

// killCycle kills -9 the leader of partition i mod the partition count, or
// every third cycle the controller, waits for acks on every partition
// without it, restarts it and waits until the cluster is whole again.
func (f *faultRun) killCycle(t *testing.T, i int) {
	t.Helper()
	began := time.Now()
	d := f.waitWhole(t, fmt.Sprintf("cycle %d", i))
	p := i % faultPartitions
	victim, role := d.leaderOf(t, p), fmt.Sprintf("leader of partition %d", p)
	if i%3 == 2 {
		victim, role = f.c.Info(t, f.c.IDs()[0]).ControllerID, "controller"
	}
	led := []int{}
	for _, pd := range d.Partitions {
		if pd.Leader == victim {
			led = append(led, pd.Partition)
		}
	}
	f.net.setUsable(victim, false)
	killed := f.h.now()
	f.c.Kill(t, victim)
	f.c.WaitFormed(t, recoverTimeout)
	witness := others(f.c, victim)[0]
	var after []string
	for _, lp := range led {
		got := newLeader(t, f.c, witness, faultTopic, lp, victim, partOf(d, lp).LeaderEpoch, recoverTimeout)
		after = append(after, fmt.Sprintf("partition %d led by %d at epoch %d with ISR %v %v after the kill",
			lp, got.Leader, got.LeaderEpoch, got.ISR, time.Duration(f.h.now()-killed).Round(time.Millisecond)))
	}
	f.waitAcks(t, killed, fmt.Sprintf("cycle %d, broker %d killed", i, victim))
	for _, lp := range led {
		f.failovers = append(f.failovers, f.waitAck(t, lp, killed, "an ack after the failover"))
	}
	f.restart(t, victim)
	restarted := f.h.now()
	f.waitWhole(t, fmt.Sprintf("cycle %d, broker %d restarted", i, victim))
	f.waitAcks(t, restarted, fmt.Sprintf("cycle %d, broker %d restarted", i, victim))
	f.cycleTimes = append(f.cycleTimes, time.Since(began))
	t.Logf("cycle %d: kill -9 of broker %d (%s, led partitions %v; then %v) and restart: %v",
		i, victim, role, led, after, time.Since(began).Round(time.Millisecond))
}

// pauseLeader freezes the leader of partition 0 with SIGSTOP until another
// broker describes a new leader and the new leader acknowledges writes,
// then resumes it. Three senders send to the frozen leader directly all
// along, their requests waiting in its socket buffers while it is frozen,
// until it has resumed, learnt that it lost the lead and answered four
// requests sent after the resume. Every ack it gives must hold in the end
// (checkPartition); it is counted here.
func (f *faultRun) pauseLeader(t *testing.T) {
	t.Helper()
	began := time.Now()
	d := f.waitWhole(t, "before the pause")
	const p = 0
	old := partOf(d, p)
	zombie := old.Leader
	witness := others(f.c, zombie)[0]
	controller := f.c.Info(t, witness).ControllerID
	f.net.setUsable(zombie, false)
	f.c.Pause(t, zombie)
	paused := f.h.now()
	ctx, stop := context.WithCancel(context.Background())
	var senders sync.WaitGroup
	for k := range 3 {
		senders.Go(func() { f.produce(ctx, 2+k, &zombieTarget{broker: zombie, partition: p}) })
	}
	// Resume before any failure below, so the cleanup's kill is not all
	// the zombie ever sees.
	resumed := false
	defer func() {
		if !resumed {
			f.c.Resume(t, zombie)
		}
		stop()
		senders.Wait()
	}()
	// GET /topics/{t} at the witness asks the frozen leader for its
	// offsets and waits for it (engine's remoteCallTimeout); the attempts
	// are logged to show it.
	var got partitionDesc
	var attempts []string
	brokertest.WaitFor(t, pauseTimeout, fmt.Sprintf("broker %d to describe a new leader of %d", witness, p), func() error {
		sent := time.Now()
		d, err := f.describeAt(witness)
		took := time.Since(sent)
		if took > time.Second {
			attempts = append(attempts, fmt.Sprintf("%v after the pause: took %v (%v)",
				time.Duration(f.h.now()-paused).Round(time.Millisecond), took.Round(time.Millisecond), err))
		}
		if err != nil {
			return err
		}
		got = partOf(d, p)
		if got.Leader == zombie || got.Leader <= 0 || got.LeaderEpoch <= old.LeaderEpoch {
			return fmt.Errorf("partition %d: leader %d at epoch %d, ISR %v", p, got.Leader, got.LeaderEpoch, got.ISR)
		}
		return nil
	})
	if len(attempts) > 0 {
		t.Logf("slow GET /topics/%s at broker %d while broker %d was frozen: %v", faultTopic, witness, zombie, attempts)
	}
	f.waitAck(t, p, paused, "an ack from the new leader while the old one is frozen")
	f.c.Resume(t, zombie)
	resumed = true
	resumedAt := f.h.now()
	t.Logf("broker %d (leader of %d at epoch %d; the controller was %d) frozen for %v; broker %d describes leader %d at epoch %d",
		zombie, p, old.LeaderEpoch, controller, time.Duration(resumedAt-paused).Round(time.Millisecond), witness, got.Leader, got.LeaderEpoch)
	brokertest.WaitFor(t, recoverTimeout, fmt.Sprintf("broker %d to learn it no longer leads partition %d", zombie, p), func() error {
		d, err := f.describeAt(zombie)
		if err != nil {
			return err
		}
		if l := d.leaderOf(t, p); l == zombie {
			return fmt.Errorf("broker %d still describes itself as leader of %d", zombie, p)
		}
		return nil
	})
	brokertest.WaitFor(t, recoverTimeout, "four answers to requests sent to the resumed broker", func() error {
		f.h.mu.Lock()
		defer f.h.mu.Unlock()
		n := 0
		for _, op := range f.h.appends {
			if op.zombie && op.call > resumedAt && op.outcome != pending {
				n++
			}
		}
		if n < 4 {
			return fmt.Errorf("%d answered", n)
		}
		return nil
	})
	stop()
	senders.Wait()
	f.net.setUsable(zombie, true)
	f.h.mu.Lock()
	counts := map[string]int{}
	for _, op := range f.h.appends {
		if op.zombie {
			when := "sent while frozen"
			if op.call > resumedAt {
				when = "sent after the resume"
			}
			counts[fmt.Sprintf("%s: %s %s by broker %d", when, op.outcome, op.answer, op.by)]++
		}
	}
	f.h.mu.Unlock()
	f.waitWhole(t, "after the pause")
	t.Logf("pause of broker %d: requests sent to it directly: %v; took %v", zombie, summary(counts), time.Since(began).Round(time.Millisecond))
}

// wipeBroker stops the highest-id broker that is not the controller with
// SIGTERM, wipes its data dir and restarts it: it must come back with a new
// incarnation, catch up from nothing and rejoin every ISR.
func (f *faultRun) wipeBroker(t *testing.T) {
	t.Helper()
	began := time.Now()
	f.waitWhole(t, "before the wipe")
	controller := f.c.Info(t, 1).ControllerID
	victim := slices.Max(others(f.c, controller))
	before := incarnation(t, f.c.Broker(victim))
	f.net.setUsable(victim, false)
	if err := f.c.Stop(t, victim); err != nil {
		t.Fatalf("SIGTERM broker %d: exit %v", victim, err)
	}
	// Out of every ISR first (controlled shutdown, or the leaders' lag
	// check while the producers write), so that coming back in means
	// catching up from nothing.
	brokertest.WaitFor(t, recoverTimeout, fmt.Sprintf("broker %d out of every ISR", victim), func() error {
		for _, id := range others(f.c, victim) {
			d, err := f.describeAt(id)
			if err != nil {
				return err
			}
			for _, p := range d.Partitions {
				if slices.Contains(p.ISR, victim) {
					return fmt.Errorf("broker %d describes partition %d with ISR %v", id, p.Partition, p.ISR)
				}
			}
		}
		return nil
	})
	f.c.Wipe(t, victim)
	var hw [faultPartitions]int64
	d := f.waitAny(t)
	for _, p := range d.Partitions {
		at, err := f.describeAt(p.Leader)
		if err != nil {
			t.Fatal(err)
		}
		hw[p.Partition] = partOf(at, p.Partition).HighWatermark
	}
	f.restart(t, victim)
	if after := incarnation(t, f.c.Broker(victim)); after == "" || after == before {
		t.Fatalf("broker %d's incarnation after the wipe %q, before %q: want a new one", victim, after, before)
	}
	f.waitWhole(t, fmt.Sprintf("broker %d wiped and restarted", victim))
	for p := range faultPartitions {
		path := fmt.Sprintf("/topics/%s/partitions/%d/records?offset=latest&replica=local", faultTopic, p)
		r := f.c.Call(t, victim, http.MethodGet, path, "")
		pg, err := decodePage(r.Body)
		if r.Status != http.StatusOK || err != nil || pg.HW < hw[p] {
			t.Fatalf("broker %d back in the ISR of %d after the wipe, but its replica answers %s; the HW before its restart was %d", victim, p, r, hw[p])
		}
	}
	t.Logf("wipe of broker %d: stopped, out of every ISR, wiped, restarted with a new incarnation, caught up past HWs %v, back in every ISR: %v",
		victim, hw, time.Since(began).Round(time.Millisecond))
}
