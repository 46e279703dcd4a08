package clustertest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anishathalye/porcupine"
)

// The sequential specification one partition is checked against with
// porcupine: a log that appends runs of values at its end and reads runs of
// values by offset.
//
//	append(values) -> base   valid iff base == the log's length; the length grows by len(values)
//	read(offset)   -> values valid iff the log holds values at offset, offset+1, …
//
// The model's state is the log's length alone. What the log holds at an
// offset is fixed by the history itself: the append whose output covers
// that offset. If two appends of a history claim one offset, no order of
// them gives both base == length, so the history is illegal whatever the
// value recorded for that offset; in every legal order the offsets are
// tiled by exactly the history's appends. That keeps the state an int,
// cheap to copy, compare and hash, for histories of tens of thousands of
// operations.

// appendInput is the input of append: the values of one produce request,
// in request order.
type appendInput struct{ values []string }

// readInput is the input of read: the first offset of one read answer.
type readInput struct{ offset int64 }

// logModel returns the model for history, the operations of one partition:
// appends with appendInput and an int64 base offset as output, reads with
// readInput and the []string of values read as output.
func logModel(history []porcupine.Operation) porcupine.Model {
	at := map[int64]string{}
	for _, op := range history {
		if in, ok := op.Input.(appendInput); ok {
			base := op.Output.(int64)
			for i, v := range in.values {
				at[base+int64(i)] = v
			}
		}
	}
	return porcupine.Model{
		Init: func() any { return int64(0) },
		Step: func(state, input, output any) (bool, any) {
			n := state.(int64)
			switch in := input.(type) {
			case appendInput:
				if output.(int64) != n {
					return false, nil
				}
				return true, n + int64(len(in.values))
			case readInput:
				values := output.([]string)
				if in.offset+int64(len(values)) > n {
					return false, nil
				}
				for i, v := range values {
					if at[in.offset+int64(i)] != v {
						return false, nil
					}
				}
				return true, n
			}
			panic(fmt.Sprintf("logModel: input %T", input))
		},
		Equal: func(a, b any) bool { return a.(int64) == b.(int64) },
		Hash:  func(s any) uint64 { return uint64(s.(int64)) },
		DescribeOperation: func(input, output any) string {
			switch in := input.(type) {
			case appendInput:
				return fmt.Sprintf("append(%s) -> %d", strings.Join(in.values, ","), output)
			case readInput:
				return fmt.Sprintf("read(%d) -> %s", in.offset, strings.Join(output.([]string), ","))
			}
			return fmt.Sprint(input, output)
		},
		DescribeState: func(s any) string { return fmt.Sprintf("length %d", s) },
	}
}

// TestLogModel checks the model on small histories: concurrent appends in
// either order, an unknown-outcome append with an open end, and the three
// ways a log is not linearizable (offsets against real time, a read of a
// value before it was appended, a read of a value never there).
func TestLogModel(t *testing.T) {
	app := func(call, ret, base int64, values ...string) porcupine.Operation {
		return porcupine.Operation{Input: appendInput{values}, Call: call, Output: base, Return: ret}
	}
	read := func(call, ret, offset int64, values ...string) porcupine.Operation {
		return porcupine.Operation{ClientId: 1, Input: readInput{offset}, Call: call, Output: values, Return: ret}
	}
	for _, tc := range []struct {
		name  string
		ops   []porcupine.Operation
		legal bool
	}{
		{"sequential", []porcupine.Operation{app(0, 1, 0, "a", "b"), app(2, 3, 2, "c"), read(4, 5, 1, "b", "c")}, true},
		{"concurrent appends, later one first", []porcupine.Operation{app(0, 10, 1, "b"), app(1, 2, 0, "a")}, true},
		{"read while its append is in flight", []porcupine.Operation{app(0, 10, 0, "a"), read(1, 2, 0, "a")}, true},
		{"unknown outcome, open end", []porcupine.Operation{app(0, 1<<62, 1, "b"), app(1, 2, 0, "a"), app(3, 4, 2, "c")}, true},
		{"offsets against real time", []porcupine.Operation{app(0, 1, 1, "b"), app(2, 3, 0, "a")}, false},
		{"read before the append", []porcupine.Operation{read(0, 1, 0, "a"), app(2, 3, 0, "a")}, false},
		{"read of a value never there", []porcupine.Operation{app(0, 1, 0, "a"), read(2, 3, 0, "x")}, false},
		{"two appends at one offset", []porcupine.Operation{app(0, 1, 0, "a"), app(2, 3, 0, "b")}, false},
	} {
		if got := porcupine.CheckOperations(logModel(tc.ops), tc.ops); got != tc.legal {
			t.Errorf("%s: linearizable %v, want %v", tc.name, got, tc.legal)
		}
	}
}
