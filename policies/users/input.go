package users

import (
	"github.com/daiban/daiban"
	"github.com/daiban/daiban/policies/httpapi"
)

// maxPassword bounds a password at sign-in (bytes); hashing a longer one
// would be work for nothing.
const maxPassword = 1024

// checkSignIn checks a sign-in's username and password before anything
// is looked up or hashed: a username no account can have (longer than 64
// characters, invalid UTF-8, a NUL byte) would cost a full password hash
// and then a query the database refuses. Login calls it first.
func checkSignIn(username, password string) error {
	if err := httpapi.Text("username", username, 0); err != nil {
		return err
	}
	if len(username) > 64 {
		return daiban.Invalid("username", "用户名不能超过 64 个字符")
	}
	if len(password) > maxPassword {
		return daiban.Invalid("password", "密码过长，请检查后重新输入")
	}
	return nil
}
