package server

import (
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one client can hold of the server: connections, and
// how long a connection may take to send a request or sit idle. The zero
// value is the default of `kagi serve`. (Request bodies are bounded by
// api.MaxBodyBytes, headers by MaxHeaderBytes.)
type Limits struct {
	// MaxConnections bounds the connections open at once (0:
	// DefaultMaxConnections). When the bound is reached, kagi accepts no
	// more until one closes: new clients wait in the kernel's listen
	// queue rather than being refused.
	MaxConnections int
	// ReadHeaderTimeout is how long a client has to send a request's
	// headers, and on TLS to finish the handshake (0: 10 seconds); a
	// slowloris client that dribbles headers is cut off after it.
	ReadHeaderTimeout time.Duration
	// ReadTimeout is how long a client has to send a whole request,
	// body included (0: 30 seconds).
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of a request's headers to
	// the end of its response (0: 30 seconds).
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its
	// next request (0: 120 seconds).
	IdleTimeout time.Duration
}

// Defaults of Limits.
const (
	DefaultMaxConnections = 4096
	// MaxHeaderBytes bounds a request's header block (net/http answers
	// 431 Request Header Fields Too Large beyond it). A SigV4 request with
	// a session token needs a few KiB.
	MaxHeaderBytes = 64 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxConnections <= 0 {
		l.MaxConnections = DefaultMaxConnections
	}
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = 10 * time.Second
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = 30 * time.Second
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = 30 * time.Second
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = 120 * time.Second
	}
	return l
}

// limitListener accepts at most cap(sem) connections open at once, as
// golang.org/x/net/netutil.LimitListener does: Accept waits for a slot,
// and closing a connection frees its slot. It wraps the TCP listener,
// under TLS, so a client stuck in its handshake holds a slot too (and is
// cut off by ReadHeaderTimeout).
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	log       *slog.Logger
	warned    atomic.Int64 // unix seconds of the last "limit reached" warning
}

func newLimitListener(ln net.Listener, n int, log *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{}), log: log}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	default:
		l.warnFull()
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

// warnFull logs, at most once a minute, that connections wait for a slot.
func (l *limitListener) warnFull() {
	now := time.Now().Unix()
	if last := l.warned.Load(); now-last >= 60 && l.warned.CompareAndSwap(last, now) {
		l.log.Warn("connection limit reached: new connections wait until one closes", "max_connections", cap(l.sem))
	}
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
