// Package testutil is the scaffolding every package's tests share: one
// polling wait for a condition (Eventually) and the goroutine leak check
// each package's TestMain runs (VerifyTestMain).
//
// It imports nothing from CHKV, so any package's internal tests can use it
// without an import cycle.
package testutil
