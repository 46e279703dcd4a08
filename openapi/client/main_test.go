package client_test

import (
	"testing"

	"github.com/fjord-streaming/fjord/internal/brokertest"
)

// TestMain removes the broker binary the tests built once they are done.
func TestMain(m *testing.M) { brokertest.Main(m) }
