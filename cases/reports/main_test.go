package reports_test

import (
	"testing"

	"github.com/daiban/daiban/sql/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
