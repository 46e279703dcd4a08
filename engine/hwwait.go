package engine

import "container/heap"

// hwWaiter is one acks=all request waiting for its partition's HW to reach
// end. ch is closed when it does, or when the request must look again (the
// leader or the ISR changed, the partition closed).
type hwWaiter struct {
	end int64
	ch  chan struct{}
	i   int // index in the heap; -1 once woken or removed
}

// hwWaiters is a partition's acks=all waiters, a min-heap on end, so that
// an HW move wakes only the requests it completes rather than every waiting
// producer (each needless wake-up is a thread switch). The partition's mu
// guards it.
type hwWaiters []*hwWaiter

func (h hwWaiters) Len() int           { return len(h) }
func (h hwWaiters) Less(i, j int) bool { return h[i].end < h[j].end }
func (h hwWaiters) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].i, h[j].i = i, j
}

// Push is heap.Interface's; use add.
func (h *hwWaiters) Push(x any) {
	w := x.(*hwWaiter)
	w.i = len(*h)
	*h = append(*h, w)
}

// Pop is heap.Interface's; use wake and remove.
func (h *hwWaiters) Pop() any {
	old := *h
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	w.i = -1
	return w
}

// add registers a waiter for the HW to reach end.
func (h *hwWaiters) add(end int64) *hwWaiter {
	w := &hwWaiter{end: end, ch: make(chan struct{})}
	heap.Push(h, w)
	return w
}

// wake wakes the waiters whose end is at most hw.
func (h *hwWaiters) wake(hw int64) {
	for len(*h) > 0 && (*h)[0].end <= hw {
		close(heap.Pop(h).(*hwWaiter).ch)
	}
}

// wakeAll wakes every waiter.
func (h *hwWaiters) wakeAll() {
	for _, w := range *h {
		w.i = -1
		close(w.ch)
	}
	*h = nil
}

// remove drops w, a waiter that stopped waiting, unless it was woken.
func (h *hwWaiters) remove(w *hwWaiter) {
	if w != nil && w.i >= 0 {
		heap.Remove(h, w.i)
	}
}
