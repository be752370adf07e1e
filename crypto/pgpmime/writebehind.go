package pgpmime

import "io"

// writeBehind is a writer that hands what it gets, in chunks of a fixed
// size, to a goroutine that writes them to w, at most depth chunks behind.
// WriteEncrypted chains two of them so that producing the entity, signing
// and encrypting it, and armoring the ciphertext run on two cores instead
// of one after the other. Memory is bounded by (depth+1) chunks.
//
// The first error of w is returned by the next Write and by Close; Close
// must be called exactly once, also after a failure, and w may be used
// again only after it returns.
type writeBehind struct {
	w      io.Writer
	ch     chan []byte
	free   chan []byte
	buf    []byte
	failed chan struct{} // closed after err is set
	done   chan struct{} // closed when the goroutine has ended
	err    error
}

func newWriteBehind(w io.Writer, size, depth int) *writeBehind {
	b := &writeBehind{
		w:      w,
		ch:     make(chan []byte, depth),
		free:   make(chan []byte, depth+1),
		buf:    make([]byte, 0, size),
		failed: make(chan struct{}),
		done:   make(chan struct{}),
	}
	for range depth {
		b.free <- make([]byte, 0, size)
	}
	go b.run()
	return b
}

func (b *writeBehind) run() {
	defer close(b.done)
	for chunk := range b.ch {
		if b.err == nil {
			if _, err := b.w.Write(chunk); err != nil {
				b.err = err
				close(b.failed)
			}
		}
		b.free <- chunk[:0] // never blocks: free holds every buffer
	}
}

// failure returns the goroutine's error once it has one.
func (b *writeBehind) failure() error {
	select {
	case <-b.failed:
		return b.err
	default:
		return nil
	}
}

func (b *writeBehind) Write(p []byte) (int, error) {
	if err := b.failure(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		k := copy(b.buf[len(b.buf):cap(b.buf)], p)
		b.buf = b.buf[:len(b.buf)+k]
		p = p[k:]
		n += k
		if len(b.buf) == cap(b.buf) {
			b.ch <- b.buf
			b.buf = <-b.free
		}
	}
	return n, nil
}

// Close writes what is left, waits for the goroutine to end and returns
// the first error of w.
func (b *writeBehind) Close() error {
	if len(b.buf) > 0 && b.failure() == nil {
		b.ch <- b.buf
	}
	close(b.ch)
	<-b.done
	return b.err
}
