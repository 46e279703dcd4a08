package freeport

import (
	"net"
	"testing"
)

func TestAddrs(t *testing.T) {
	httpAddrs, gossipAddrs, err := Addrs(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, a := range append(httpAddrs, gossipAddrs...) {
		if seen[a] {
			t.Fatalf("address %s picked twice: %v %v", a, httpAddrs, gossipAddrs)
		}
		seen[a] = true
	}
	for _, a := range gossipAddrs {
		tcp, err := net.Listen("tcp", a)
		if err != nil {
			t.Fatalf("gossip address %s not free for TCP: %v", a, err)
		}
		udp, err := net.ListenPacket("udp", a)
		if err != nil {
			t.Fatalf("gossip address %s not free for UDP: %v", a, err)
		}
		tcp.Close()
		udp.Close()
	}
}

func TestTCP(t *testing.T) {
	a, err := TCP()
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", a); err == nil {
		c.Close()
		t.Fatalf("dial of %s succeeded; want it refused", a)
	}
	ln, err := net.Listen("tcp", a)
	if err != nil {
		t.Fatalf("listen on %s: %v", a, err)
	}
	ln.Close()
}
