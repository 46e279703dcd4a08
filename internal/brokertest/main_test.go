package brokertest

import (
	"testing"
)

// TestMain removes the broker binary the tests built once they are done.
func TestMain(m *testing.M) { Main(m) }
