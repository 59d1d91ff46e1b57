package reports_test

import (
	"testing"

	"github.com/daiban/daiban/pgserver/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }
