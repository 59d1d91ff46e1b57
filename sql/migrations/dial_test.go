//go:build linux

package migrations

import (
	"context"
	"net"
	"syscall"
	"testing"
)

// The database connections' TCP sockets give up on a silent peer within
// deadPeerTimeout (TCP_USER_TIMEOUT), as the pools configure them.
func TestDialFailsFast(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	cfg, err := AppPoolConfig("postgres://u@"+l.Addr().String()+",127.0.0.2:1/db?target_session_attrs=read-write", LoginAsApp, 1)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cfg.ConnConfig.DialFunc(context.Background(), "tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	raw, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var ms int
	var gerr error
	if err := raw.Control(func(fd uintptr) {
		ms, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout)
	}); err != nil || gerr != nil {
		t.Fatal(err, gerr)
	}
	if ms != int(deadPeerTimeout.Milliseconds()) {
		t.Fatalf("TCP_USER_TIMEOUT %d ms, want %d", ms, deadPeerTimeout.Milliseconds())
	}
	second := false
	for _, f := range cfg.ConnConfig.Fallbacks {
		second = second || f.Host == "127.0.0.2"
	}
	if !second {
		t.Fatal("multi-host URL: the second host is not among the fallbacks")
	}
}
