package pgserver

// DebianRoot lets tests point the /usr/lib/postgresql search elsewhere.
var DebianRoot = &debianRoot
