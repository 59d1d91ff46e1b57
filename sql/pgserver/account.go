package pgserver

import (
	"path/filepath"
	"syscall"
)

// Account is the unprivileged account PostgreSQL's programs run as: the
// current user, or under root the "postgres" system user (else "nobody"),
// the same choice Start makes. Other programs of the PostgreSQL family
// (pg_autoctl, pgBackRest) refuse root as well and run as it too.
type Account struct{ ru runUser }

// CurrentAccount picks the account as Start does.
func CurrentAccount() (Account, error) {
	ru, err := currentRunUser()
	return Account{ru}, err
}

// Name is the account's user name.
func (a Account) Name() string { return a.ru.name }

// Credential is the credential for a child process run as the account,
// nil when no switch is needed (we are not root).
func (a Account) Credential() *syscall.Credential { return a.ru.credential() }

// Chown gives path and everything below it to the account (nothing to do
// when we are not root).
func (a Account) Chown(path string) error { return a.ru.chownTree(path) }

// CanReach reports an error naming the first ancestor of dir (absolute)
// that the account cannot enter.
func (a Account) CanReach(dir string) error { return a.ru.checkAncestors(dir) }

// BinDir is the directory the server programs (initdb, postgres, pg_ctl,
// pg_controldata) are installed in, symbolic links followed: where
// pg_autoctl finds its companions.
func (b Binaries) BinDir() string {
	if p, err := filepath.EvalSymlinks(b.Postgres); err == nil {
		return filepath.Dir(p)
	}
	return filepath.Dir(b.Postgres)
}
