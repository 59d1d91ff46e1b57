package migrations

import "syscall"

func setUserTimeout(fd, ms int) error {
	return syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, tcpUserTimeout, ms)
}
