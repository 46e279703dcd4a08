// Package freeport picks free 127.0.0.1 ports for brokers that tests and
// `fjord bench` start themselves: TCP ports for HTTP, and ports free for both
// TCP and UDP for gossip (memberlist uses both on one port).
package freeport

import (
	"errors"
	"fmt"
	"io"
	"net"
)

// Addrs picks n free TCP ports for HTTP and n ports free for both TCP and
// UDP for gossip, as 127.0.0.1:port. Every port is held until all are
// picked, so none is picked twice.
func Addrs(n int) (httpAddrs, gossipAddrs []string, err error) {
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			_ = c.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("freeport: http port: %w", err)
		}
		closers = append(closers, ln)
		httpAddrs = append(httpAddrs, ln.Addr().String())
	}
	for len(gossipAddrs) < n {
		tcp, udp, err := tcpUDPPort()
		if err != nil {
			return nil, nil, err
		}
		closers = append(closers, tcp, udp)
		gossipAddrs = append(gossipAddrs, tcp.Addr().String())
	}
	return httpAddrs, gossipAddrs, nil
}

// tcpUDPPort listens on one 127.0.0.1 port with both TCP and UDP.
func tcpUDPPort() (net.Listener, net.PacketConn, error) {
	for range 50 {
		tcp, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, fmt.Errorf("freeport: gossip port: %w", err)
		}
		udp, err := net.ListenPacket("udp", tcp.Addr().String())
		if err == nil {
			return tcp, udp, nil
		}
		_ = tcp.Close()
	}
	return nil, nil, errors.New("freeport: no port free for both TCP and UDP")
}

// TCP picks one free TCP port and returns it as 127.0.0.1:port, closed:
// until something listens on it, a dial there is refused.
func TCP() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("freeport: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
