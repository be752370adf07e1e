package relay

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"

	"github.com/securesend/securesend/internal/filelock"
	"github.com/securesend/securesend/profile"
)

// Network is where a relay listens and whom it lets in, from the admin's
// --listen, --allow and --allow-plain-from.
type Network struct {
	// ListenAddr is the listen address's IP (invalid for "localhost").
	ListenAddr netip.Addr
	// Allow are the client networks allowed (Options.Allow).
	Allow []netip.Prefix
	// PlainFrom are the devices allowed without TLS (Options.PlainFrom).
	PlainFrom []netip.Addr
}

// ParseNetwork checks the listen address and the client networks: a
// listen address other than loopback needs allow (the devices'
// networks); loopback clients are allowed when listening on loopback; a
// plain-text device must be in an allowed network. Errors name the flag.
func ParseNetwork(listen string, allow, plainFrom []string) (Network, error) {
	var c Network
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return c, fmt.Errorf("--listen %q: %v", listen, err)
	}
	loopback := host == "localhost"
	if !loopback {
		a, err := netip.ParseAddr(host)
		if err != nil {
			return c, fmt.Errorf("--listen %q: give an IP address and port, e.g. 0.0.0.0:2525 or 192.0.2.5:2525", listen)
		}
		c.ListenAddr = a
		loopback = a.IsLoopback()
	}
	for _, s := range allow {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return c, fmt.Errorf("--allow %q is not a network such as 192.0.2.0/24 or an address", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		c.Allow = append(c.Allow, p.Masked())
	}
	if loopback {
		c.Allow = append(c.Allow, netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128"))
	} else if len(allow) == 0 {
		return c, fmt.Errorf("--listen %s is reachable from the network: say which networks may connect with --allow (e.g. --allow 192.0.2.0/24)", listen)
	}
	for _, s := range plainFrom {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return c, fmt.Errorf("--allow-plain-from %q is not an IP address (one device's address, not a network)", s)
		}
		ok := false
		for _, p := range c.Allow {
			ok = ok || p.Contains(a.Unmap())
		}
		if !ok {
			return c, fmt.Errorf("--allow-plain-from %s is not in an allowed network (--allow)", s)
		}
		c.PlainFrom = append(c.PlainFrom, a.Unmap())
	}
	return c, nil
}

// ErrNetworkMismatch: a Network does not fit the address it is used to
// listen on (CheckNetwork).
var ErrNetworkMismatch = errors.New("the relay's client networks do not fit its listen address")

// CheckNetwork checks that n, whom a relay lets in, fits listen, where it
// listens, as ParseNetwork would have made it: a listen address other
// than loopback needs allowed networks, n must have been parsed from this
// address, and each plain-text device must be in an allowed network.
// Callers that build a Network themselves (not from the flags) get
// ErrNetworkMismatch instead of a relay open to any client.
func CheckNetwork(listen string, n Network) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("relay: listen address %q: %w", listen, err)
	}
	loopback := host == "localhost"
	var addr netip.Addr // invalid for "localhost", as in ParseNetwork
	if !loopback {
		if addr, err = netip.ParseAddr(host); err != nil {
			return fmt.Errorf("relay: listen address %q: give an IP address and port, e.g. 0.0.0.0:2525", listen)
		}
		loopback = addr.IsLoopback()
	}
	if len(n.Allow) == 0 {
		if loopback {
			return fmt.Errorf("relay: %w: no client networks are allowed, so no device could connect to %s (relay.ParseNetwork allows loopback)", ErrNetworkMismatch, listen)
		}
		return fmt.Errorf("relay: %w: %s is reachable from the network but no client networks are allowed; say which may connect (--allow, relay.ParseNetwork)", ErrNetworkMismatch, listen)
	}
	if n.ListenAddr != addr {
		return fmt.Errorf("relay: %w: they were not made for the listen address %s (relay.ParseNetwork makes them from it)", ErrNetworkMismatch, listen)
	}
	for _, a := range n.PlainFrom {
		ok := false
		for _, p := range n.Allow {
			ok = ok || p.Contains(a.Unmap())
		}
		if !ok {
			return fmt.Errorf("relay: %w: the plain-text device %s is not in an allowed network", ErrNetworkMismatch, a)
		}
	}
	return nil
}

// ParseAliases parses --alias NAME=ADDRESS flags: NAME a valid alias
// (profile.ValidAliasName, any case), ADDRESS an e-mail address, each
// NAME once. Whether ADDRESS may be sent to is DirectoryResolver's
// CheckAliases.
func ParseAliases(flags []string) (map[string]string, error) {
	m := map[string]string{}
	for _, f := range flags {
		name, addr, ok := strings.Cut(f, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		addr = strings.TrimSpace(addr)
		if !ok || addr == "" || strings.ContainsAny(addr, " \t<>") || strings.Count(addr, "@") != 1 {
			return nil, fmt.Errorf("--alias %q: give name=address, e.g. mainst=pharmacy@mainst.example.nz", f)
		}
		if err := profile.ValidAliasName(name); err != nil {
			return nil, fmt.Errorf("--alias %q: the name %w", f, err)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("--alias %s given twice", name)
		}
		m[name] = addr
	}
	return m, nil
}

// MatchDocType is the type among types that s names (any case, spaces
// around ignored), or "".
func MatchDocType(types []string, s string) string {
	for _, d := range types {
		if strings.EqualFold(strings.TrimSpace(s), d) {
			return d
		}
	}
	return ""
}

// CertificateHosts are the names a generated certificate is made for:
// hostname, loopback, and the listen address when it is a specific one.
func CertificateHosts(hostname string, listen netip.Addr) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	if hostname != "" {
		hosts = append([]string{hostname}, hosts...)
	}
	if listen.IsValid() && !listen.IsUnspecified() {
		hosts = append(hosts, listen.String())
	}
	return hosts
}

// The relay's files in its folder of the home (home/relay).
const (
	devicesFile = "devices.json"
	lockFile    = "relay.lock"
)

// DevicesPath is the device list's file in the relay's folder dir.
func DevicesPath(dir string) string { return filepath.Join(dir, devicesFile) }

// ErrRunning: another relay runs for the same home.
var ErrRunning = errors.New("another 'securesend relay' is running for this home; stop it first")

// Lock makes sure only one relay runs for the folder dir (it owns dir's
// incoming folder, where it removes what a crashed relay left, and the
// resend record): ErrRunning when another holds it.
func Lock(dir string) (unlock func(), err error) {
	f, err := filelock.OpenFile(filepath.Join(dir, lockFile))
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	ok, err := filelock.TryLock(f)
	if err != nil || !ok {
		f.Close()
		if err == nil {
			err = ErrRunning
		}
		return nil, err
	}
	return func() { _ = filelock.Unlock(f); f.Close() }, nil
}
