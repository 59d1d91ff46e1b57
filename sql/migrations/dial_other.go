//go:build !linux

package migrations

// setUserTimeout: only Linux has TCP_USER_TIMEOUT; keepalives remain.
func setUserTimeout(fd, ms int) error { return nil }
