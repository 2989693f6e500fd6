package httpkv

import (
	"testing"

	"github.com/chkv/chkv/helper/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyTestMain(m) }
