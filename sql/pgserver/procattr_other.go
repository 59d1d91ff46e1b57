//go:build unix && !linux

package pgserver

import "syscall"

// procAttr: outside Linux there is no parent-death signal; Stop must be
// called for a clean shutdown.
func procAttr(cred *syscall.Credential, _ syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred}
}
