package relay

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/securesend/securesend/audit"
)

// AuditConnectionsRefused: connections from an allowed address were
// refused before the greeting, over MaxConnectionsPerAddress or
// MaxConnections (address: the IP; reason; count: how many in the burst
// this entry reports). One entry starts a burst and at most one a
// minute follows while it lasts, however many connections are refused.
const AuditConnectionsRefused audit.Kind = "relay.connections_refused"

// refusalWindow is how long a burst of refused connections from one
// address is counted before its count is logged; a burst ends after a
// window with no refusal.
const refusalWindow = time.Minute

// maxBursts bounds the addresses whose refusals are counted one by one;
// refusals from others are counted together.
const maxBursts = 256

// refusal is why the gate refused a connection.
type refusal int

const (
	refusedNetwork refusal = iota // not in Options.Allow
	refusedAddress                // over MaxConnectionsPerAddress
	refusedServer                 // over MaxConnections
)

// what is the refusal as the log and the audit log say it.
func (r refusal) what(s *Server) string {
	switch r {
	case refusedNetwork:
		return "not in the allowed networks (--allow)"
	case refusedAddress:
		return fmt.Sprintf("%d connections from that address already open (--max-per-address)", s.opts.MaxConnectionsPerAddress)
	default:
		return fmt.Sprintf("%d connections already open (--max-connections)", s.opts.MaxConnections)
	}
}

// audited reports whether refusals of this kind go to the audit log:
// those of clients inside the allowed networks, whose refusals may have
// kept a device out.
func (r refusal) audited() bool { return r != refusedNetwork }

type burstKey struct {
	why  refusal
	addr netip.Addr // the zero Addr: addresses over maxBursts
}

// burst counts the refusals of one key since its last log line.
type burst struct {
	since   time.Time
	counted int
	timer   *time.Timer
}

// refusalLog logs and audits refused connections once per burst: the
// first refusal of an address at once, then how many more each window
// while they go on, so that a client reconnecting in a loop cannot flood
// the log or the audit log.
type refusalLog struct {
	s      *Server
	window time.Duration // refusalWindow
	mu     sync.Mutex
	bursts map[burstKey]*burst
	closed bool
}

func newRefusalLog(s *Server) *refusalLog {
	return &refusalLog{s: s, window: refusalWindow, bursts: map[burstKey]*burst{}}
}

// note records a refused connection from addr (the remote address as
// text, for the first line).
func (l *refusalLog) note(why refusal, ip netip.Addr, addr string) {
	k := burstKey{why, ip}
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	if _, ok := l.bursts[k]; !ok && len(l.bursts) >= maxBursts {
		k.addr, addr = netip.Addr{}, "other addresses"
	}
	if b, ok := l.bursts[k]; ok {
		b.counted++
		l.mu.Unlock()
		return
	}
	b := &burst{since: l.s.opts.Now()}
	l.bursts[k] = b
	b.timer = time.AfterFunc(l.window, func() { l.tick(k) })
	l.mu.Unlock()
	l.s.logf("refused a connection from %s: %s; more from it are counted and logged once a minute", addr, why.what(l.s))
	l.audit(why, ip, 1)
}

// tick ends a window of k's burst: its count is logged and the burst
// goes on for another window, or ends if nothing was refused in this one.
func (l *refusalLog) tick(k burstKey) {
	l.mu.Lock()
	b, ok := l.bursts[k]
	if !ok || l.closed {
		l.mu.Unlock()
		return
	}
	n, since := b.counted, b.since
	if n == 0 {
		delete(l.bursts, k)
	} else {
		b.counted, b.since = 0, l.s.opts.Now()
		b.timer.Reset(l.window)
	}
	l.mu.Unlock()
	l.report(k, n, since)
}

// close logs what is counted and stops counting (Serve has returned).
func (l *refusalLog) close() {
	l.mu.Lock()
	l.closed = true
	bursts := l.bursts
	l.bursts = nil
	l.mu.Unlock()
	for k, b := range bursts {
		b.timer.Stop()
		l.report(k, b.counted, b.since)
	}
}

// report logs and audits the n refusals of k counted since.
func (l *refusalLog) report(k burstKey, n int, since time.Time) {
	if n == 0 {
		return
	}
	from := "other addresses"
	if k.addr.IsValid() {
		from = k.addr.String()
	}
	l.s.logf("refused %d more connection(s) from %s since %s: %s", n, from, since.Format(time.RFC3339), k.why.what(l.s))
	l.audit(k.why, k.addr, n)
}

func (l *refusalLog) audit(why refusal, ip netip.Addr, n int) {
	if !why.audited() {
		return
	}
	addr := "other addresses"
	if ip.IsValid() {
		addr = ip.String()
	}
	f := audit.Fields{"address": addr, "reason": "refused before the greeting: " + why.what(l.s), "count": strconv.Itoa(n)}
	if _, err := l.s.opts.Audit.Append(audit.Event{Kind: AuditConnectionsRefused, Fields: f}); err != nil {
		l.s.logf("AUDIT LOG FAILED for connections refused from %s: %s", addr, safeReason(err))
	}
}
