package health

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDueQueue drives the heap with random pushes, re-times and removals and checks,
// after every step, the heap order, every entry's index, and that popping yields the
// times in sorted order.
func TestDueQueue(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var q dueQueue
	var live []*entry
	check := func(step int) {
		t.Helper()
		for i, it := range q {
			if it.e.index != i {
				t.Fatalf("step %d: item %d has index %d", step, i, it.e.index)
			}
			if p := (i - 1) / 2; i > 0 && q[p].at > it.at {
				t.Fatalf("step %d: parent %d (%d) after child %d (%d)", step, p, q[p].at, i, it.at)
			}
		}
	}
	for step := range 5000 {
		switch op := r.IntN(4); {
		case op <= 1 || len(live) == 0:
			e := &entry{index: -1}
			q.push(dueItem{r.Int64N(1000), e})
			live = append(live, e)
		case op == 2:
			e := live[r.IntN(len(live))]
			q[e.index].at = r.Int64N(1000)
			q.fix(e.index)
		default:
			k := r.IntN(len(live))
			e := live[k]
			if got := q.remove(e.index); got != e || e.index != -1 {
				t.Fatalf("step %d: remove returned %p (index %d), want %p", step, got, e.index, e)
			}
			live = slices.Delete(live, k, k+1)
		}
		check(step)
	}
	var got []int64
	for len(q) > 0 {
		got = append(got, q[0].at)
		q.remove(0)
	}
	if !slices.IsSorted(got) || len(got) != len(live) {
		t.Errorf("popped %d times (sorted %v), want %d in order", len(got), slices.IsSorted(got), len(live))
	}
}
