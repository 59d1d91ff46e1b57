package pgserver

import "syscall"

// procAttr returns the attributes for a server child process: its own
// process group (a terminal's Ctrl-C reaches only us; Stop decides), the
// unprivileged credential if any, and a parent-death signal so the child
// does not outlive a killed parent. The kernel sends the signal when the
// thread that forked the child exits, so children are started from a
// goroutine locked to its OS thread for the child's whole life (see
// runLocked and Start).
func procAttr(cred *syscall.Credential, deathSig syscall.Signal) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Credential: cred, Pdeathsig: deathSig}
}
