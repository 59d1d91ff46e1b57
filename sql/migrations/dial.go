package migrations

import (
	"context"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// deadPeerTimeout bounds how long a TCP connection to a database machine
// that lost power (no RST, no FIN: nothing comes back) stays open. On
// loopback a killed server resets its connections at once; across a
// network the kernel would retransmit for about fifteen minutes, and a
// request using such a connection would wait as long instead of
// answering 503 while pg_auto_failover promotes the secondary.
const deadPeerTimeout = 15 * time.Second

// failFast makes cfg's TCP connections notice a vanished peer within
// deadPeerTimeout: keepalive probes on an idle connection, and
// TCP_USER_TIMEOUT for data left unacknowledged. Unix sockets (the
// embedded server) are left as they are.
func failFast(cfg *pgconn.Config) {
	d := &net.Dialer{KeepAlive: deadPeerTimeout / 3, Control: userTimeout}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
}

// tcpUserTimeout is TCP_USER_TIMEOUT (linux/tcp.h); the syscall package
// does not name it.
const tcpUserTimeout = 0x12

func userTimeout(network, _ string, c syscall.RawConn) error {
	if !strings.HasPrefix(network, "tcp") {
		return nil
	}
	var serr error
	err := c.Control(func(fd uintptr) {
		serr = setUserTimeout(int(fd), int(deadPeerTimeout.Milliseconds()))
	})
	if err != nil {
		return err
	}
	return serr
}
