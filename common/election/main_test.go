package election

import (
	"testing"

	"github.com/chkv/chkv/helper/testutil"
)

// TestMain fails the package's tests if they leave goroutines running.
func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }
