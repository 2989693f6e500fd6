package client

import (
	"fmt"
	"net"
	"strings"
)

// DefaultNameNode is the NameNode address used when none is given.
const DefaultNameNode = "127.0.0.1:10101"

// Config says where the cluster is. Tuning knobs are Options.
type Config struct {
	// NameNodes are the gRPC addresses (host:port) of the NameNodes; the
	// client watches one of them and rotates through the list on failure.
	NameNodes []string
	// ClusterToken is sent with every NameNode call when not empty.
	ClusterToken string
	// Password is sent to every DataNode with AUTH when not empty.
	Password string
}

// DefaultConfig returns a Config for a NameNode on DefaultNameNode.
func DefaultConfig() Config {
	return Config{NameNodes: []string{DefaultNameNode}}
}

// Validate reports the first field that cannot work.
func (c *Config) Validate() error {
	if len(c.NameNodes) == 0 {
		return fmt.Errorf("%w: no NameNode address", ErrInvalid)
	}
	for _, addr := range c.NameNodes {
		if strings.TrimSpace(addr) == "" {
			return fmt.Errorf("%w: empty NameNode address", ErrInvalid)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return fmt.Errorf("%w: NameNode address %q: %w", ErrInvalid, addr, err)
		}
	}
	return nil
}
