package proccluster

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
)

// A child process listens on an address the test chose for it, so the
// port has to be picked, released, and bound again by the child. A port
// from the kernel's ephemeral range can be taken in between as the source
// port of any outgoing connection on the machine (other test packages
// dial thousands), and the child then fails with "address already in
// use". freeAddr therefore picks ports below that range, which the kernel
// never hands out on its own, and never hands the same port out twice in
// one test binary, so a killed process can be restarted on its own port.

// lowestEphemeralPort is used when /proc does not say (Linux's default).
const lowestEphemeralPort = 32768

// firstTestPort is where the ports handed out start: above the range of
// well-known services that may run on a developer's machine.
const firstTestPort = 20000

var ports struct {
	mu     sync.Mutex
	issued map[int]bool
}

// ephemeralLow returns the first port of the kernel's ephemeral range.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lowestEphemeralPort
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return lowestEphemeralPort
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil || low <= firstTestPort+1000 {
		return lowestEphemeralPort
	}
	return low
}

// freeAddr returns a loopback address whose port is free now, lies outside
// the kernel's ephemeral range, and has not been returned before.
func freeAddr() (string, error) {
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.issued == nil {
		ports.issued = make(map[int]bool)
	}
	high := ephemeralLow()
	for range 1000 {
		port := firstTestPort + rand.IntN(high-firstTestPort)
		if ports.issued[port] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue // in use by something else on the machine
		}
		ln.Close()
		ports.issued[port] = true
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback port in [%d, %d) after 1000 tries", firstTestPort, high)
}
