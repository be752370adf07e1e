package relay

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/securesend/securesend/internal/filelock"
)

func TestParseNetwork(t *testing.T) {
	tests := []struct {
		listen           string
		allow, plain     []string
		wantAllow, words string // words: the error says it
		wantPlain        string
	}{
		{listen: "127.0.0.1:2525", wantAllow: "127.0.0.0/8 ::1/128"},
		{listen: "localhost:2525", wantAllow: "127.0.0.0/8 ::1/128"},
		{listen: "[::1]:2525", allow: []string{"192.0.2.7"}, wantAllow: "192.0.2.7/32 127.0.0.0/8 ::1/128"},
		{listen: "0.0.0.0:2525", allow: []string{"192.0.2.9/24"}, plain: []string{"192.0.2.50"}, wantAllow: "192.0.2.0/24", wantPlain: "192.0.2.50"},
		{listen: "0.0.0.0:2525", words: "reachable from the network: say which networks may connect with --allow"},
		{listen: "mfd-relay:2525", allow: []string{"192.0.2.0/24"}, words: "give an IP address and port"},
		{listen: "2525", words: `--listen "2525"`},
		{listen: "0.0.0.0:2525", allow: []string{"192.0.2.0/33"}, words: `--allow "192.0.2.0/33" is not a network`},
		{listen: "0.0.0.0:2525", allow: []string{"192.0.2.0/24"}, plain: []string{"198.51.100.1"}, words: "not in an allowed network"},
		{listen: "0.0.0.0:2525", allow: []string{"192.0.2.0/24"}, plain: []string{"192.0.2.0/28"}, words: "not an IP address (one device's address"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.listen, tt.allow, tt.plain), func(t *testing.T) {
			n, err := ParseNetwork(tt.listen, tt.allow, tt.plain)
			if tt.words != "" {
				if err == nil || !strings.Contains(err.Error(), tt.words) {
					t.Fatalf("got %v, want %q", err, tt.words)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range n.Allow {
				got = append(got, p.String())
			}
			var plain []string
			for _, a := range n.PlainFrom {
				plain = append(plain, a.String())
			}
			if strings.Join(got, " ") != tt.wantAllow || strings.Join(plain, " ") != tt.wantPlain {
				t.Errorf("allow %v plain %v", got, plain)
			}
		})
	}
}

func TestParseAliases(t *testing.T) {
	tests := []struct {
		flags []string
		want  map[string]string
		words string
	}{
		{flags: nil, want: map[string]string{}},
		{flags: []string{"MainSt=orders@mainst.example.nz", " lab = lab@results.example.nz "}, want: map[string]string{"mainst": "orders@mainst.example.nz", "lab": "lab@results.example.nz"}},
		{flags: []string{"mainst"}, words: "give name=address"},
		{flags: []string{"mainst=orders"}, words: "give name=address"},
		{flags: []string{"mainst=a@b@c"}, words: "give name=address"},
		{flags: []string{"main st=orders@mainst.example.nz"}, words: "lower-case letters"},
		{flags: []string{"mainst@relay=orders@mainst.example.nz"}, words: "lower-case letters"},
		{flags: []string{"=orders@mainst.example.nz"}, words: "1 to 64"},
		{flags: []string{"a=x@y.example", "A=z@y.example"}, words: "--alias a given twice"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, ","), func(t *testing.T) {
			m, err := ParseAliases(tt.flags)
			if tt.words != "" {
				if err == nil || !strings.Contains(err.Error(), tt.words) {
					t.Fatalf("got %v %v, want %q", m, err, tt.words)
				}
				return
			}
			if err != nil || len(m) != len(tt.want) {
				t.Fatalf("got %v %v, want %v", m, err, tt.want)
			}
			for k, v := range tt.want {
				if m[k] != v {
					t.Errorf("%s = %q, want %q", k, m[k], v)
				}
			}
		})
	}
}

func TestMatchDocType(t *testing.T) {
	types := []string{"Prescription", "Referral", "Other"}
	for in, want := range map[string]string{"prescription": "Prescription", " REFERRAL ": "Referral", "Scan from MFD": "", "": ""} {
		if got := MatchDocType(types, in); got != want {
			t.Errorf("MatchDocType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCertificateHosts(t *testing.T) {
	for _, tt := range []struct {
		host   string
		listen netip.Addr
		want   string
	}{
		{"relay.clinic.example", netip.MustParseAddr("0.0.0.0"), "relay.clinic.example localhost 127.0.0.1 ::1"},
		{"relay", netip.MustParseAddr("192.0.2.5"), "relay localhost 127.0.0.1 ::1 192.0.2.5"},
		{"", netip.Addr{}, "localhost 127.0.0.1 ::1"},
	} {
		if got := strings.Join(CertificateHosts(tt.host, tt.listen), " "); got != tt.want {
			t.Errorf("CertificateHosts(%q, %v) = %q, want %q", tt.host, tt.listen, got, tt.want)
		}
	}
}

// TestLock: one relay per folder; the lock is released by unlock.
func TestLock(t *testing.T) {
	dir := t.TempDir()
	unlock, err := Lock(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(dir); !errors.Is(err, ErrRunning) {
		t.Fatalf("second relay: %v", err)
	}
	unlock()
	unlock2, err := Lock(dir)
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
	if DevicesPath(dir) != filepath.Join(dir, "devices.json") {
		t.Errorf("DevicesPath = %s", DevicesPath(dir))
	}
}

// TestLockPlantedLink: a symbolic link planted as the relay's lock file is
// refused, not followed.
func TestLockPlantedLink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("planting a symbolic link needs a privilege on Windows")
	}
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "elsewhere")
	if err := os.Symlink(target, filepath.Join(dir, lockFile)); err != nil {
		t.Fatal(err)
	}
	if unlock, err := Lock(dir); !errors.Is(err, filelock.ErrUnsafeLockFile) {
		if err == nil {
			unlock()
		}
		t.Fatalf("Lock with a planted link: %v, want ErrUnsafeLockFile", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was created: %v", err)
	}
}

// TestCheckNetwork: a Network is accepted only with the listen address it
// was parsed from, and never as a relay on the network open to all (an
// empty allow-list), whoever built it.
func TestCheckNetwork(t *testing.T) {
	parsed := func(listen string, allow ...string) Network {
		n, err := ParseNetwork(listen, allow, nil)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	lan := parsed("0.0.0.0:2525", "192.0.2.0/24")
	for _, tc := range []struct {
		name   string
		listen string
		n      Network
		words  string // "" for no error
	}{
		{"loopback, parsed", "127.0.0.1:0", parsed("127.0.0.1:0"), ""},
		{"localhost, parsed", "localhost:2525", parsed("localhost:2525"), ""},
		{"all addresses, parsed with --allow", "0.0.0.0:2525", lan, ""},
		{"another port of the same address", "0.0.0.0:0", lan, ""},
		{"all addresses, no Network", "0.0.0.0:2525", Network{}, "reachable from the network but no client networks are allowed"},
		{"a LAN address, no Network", "192.0.2.5:2525", Network{}, "reachable from the network"},
		{"IPv6 all addresses, no Network", "[::]:2525", Network{}, "reachable from the network"},
		{"loopback, no Network", "127.0.0.1:2525", Network{}, "no device could connect"},
		{"Network of loopback on all addresses", "0.0.0.0:2525", parsed("127.0.0.1:2525"), "not made for the listen address"},
		{"Network of all addresses on another", "192.0.2.5:2525", lan, "not made for the listen address"},
		{"Network of all addresses on localhost", "localhost:2525", lan, "not made for the listen address"},
		{"plain-text device outside", "0.0.0.0:2525", Network{ListenAddr: lan.ListenAddr, Allow: lan.Allow,
			PlainFrom: []netip.Addr{netip.MustParseAddr("198.51.100.1")}}, "not in an allowed network"},
		{"no port", "0.0.0.0", lan, "listen address"},
		{"a name", "relay.example:2525", lan, "give an IP address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckNetwork(tc.listen, tc.n)
			if tc.words == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("got %v, want %q", err, tc.words)
			}
		})
	}
	if err := CheckNetwork("0.0.0.0:2525", Network{}); !errors.Is(err, ErrNetworkMismatch) {
		t.Errorf("%v is not ErrNetworkMismatch", err)
	}
}
