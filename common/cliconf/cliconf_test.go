package cliconf

import (
	"testing"

	"github.com/urfave/cli/v2"
)

func TestUnmanaged(t *testing.T) {
	flags := []cli.Flag{ConfigFlag(), String("a-b", "", ""), Int("n", 1, ""), Bool("on", false, ""),
		&cli.StringFlag{Name: "plain"}}
	if got := Unmanaged(flags); len(got) != 1 || got[0] != "plain" {
		t.Fatalf("Unmanaged = %v, want [plain]", got)
	}
	if got := Names(flags); len(got) != 4 || got[0] != "a-b" {
		t.Fatalf("Names = %v", got)
	}
	if EnvVar("maxmemory-policy") != "CHKV_MAXMEMORY_POLICY" {
		t.Fatal(EnvVar("maxmemory-policy"))
	}
}
