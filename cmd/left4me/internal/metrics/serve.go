package metrics

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Server answers GET /metrics on the connections it accepts itself: the
// one long-lived exporter behind left4me-metrics.socket (Accept=no). Any
// local user can connect, so no client can keep the port from another:
// the accept loop never waits for a client, a connection that sent no
// request makes room for a newer one, and the gathering, which reads
// every instance's state, runs once at a time however many ask.
type Server struct {
	// Gather writes the metrics (Write of a fresh Snapshot).
	Gather func(ctx context.Context, w io.Writer) error
	// Log is the journal (stderr): each line starts with its priority
	// (sd-daemon(3)); a client's misbehaviour is said at notice level, at
	// most twice per Limits.Report.
	Log    io.Writer
	Limits Limits
}

// Limits bound what clients can take.
type Limits struct {
	MaxConns int           // open connections; at the limit a new one closes the oldest that sent no request yet
	Request  time.Duration // from accept to the end of the request's headers
	Gather   time.Duration // one gathering
	Write    time.Duration // writing the answer
	Fresh    time.Duration // an answer gathered this recently is served again: a request flood costs no more gatherings
	Report   time.Duration // what clients did wrong is summed up this often
	Idle     time.Duration // Serve returns after this long without a connection (socket activation starts it again); 0 never
}

// DefaultLimits are left4me-metrics@.service's.
func DefaultLimits() Limits {
	return Limits{MaxConns: 64, Request: 5 * time.Second, Gather: 25 * time.Second, Write: 10 * time.Second,
		Fresh: time.Second, Report: time.Minute, Idle: 10 * time.Minute}
}

// maxRequest bounds a request's line and headers.
const maxRequest = 8 << 10

// Serve serves ln until ctx ends or, with Limits.Idle, nobody connected
// for that long. A client's fault never ends it with an error.
func (s Server) Serve(ctx context.Context, ln net.Listener) error {
	sv := &serving{Server: s, ctx: ctx,
		clients: newTally(s.Log, "<5>", "metrics: a client's connection ended without metrics (the client's doing)", s.Limits.Report),
		faults:  newTally(s.Log, "<3>", "metrics: could not answer", s.Limits.Report)}
	end := make(chan struct{})
	sv.g = gatherer{fn: s.Gather, fresh: s.Limits.Fresh, timeout: s.Limits.Gather, ctx: ctx}
	stop := context.AfterFunc(ctx, func() { _ = ln.Close() })
	defer stop()
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		ticker := time.NewTicker(s.Limits.Report)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				sv.clients.flush()
				sv.faults.flush()
			case <-end:
				return
			}
		}
	}()
	err := sv.accept(ln)
	if ctx.Err() != nil {
		sv.closeAll() // a stop: the connections under way end now
	}
	sv.wg.Wait()
	close(end)
	<-reported
	sv.clients.flush()
	sv.faults.flush()
	return err
}

// serving is one Serve's state.
type serving struct {
	Server
	ctx             context.Context
	g               gatherer
	clients, faults *tally
	wg              sync.WaitGroup
	mu              sync.Mutex
	open            []*conn // in accept order
}

// conn is one client's connection.
type conn struct {
	net.Conn
	waiting bool // no request yet: the first to go when room is needed
	evicted bool
}

func (sv *serving) accept(ln net.Listener) error {
	dl, _ := ln.(interface{ SetDeadline(time.Time) error })
	for {
		if sv.Limits.Idle > 0 && dl != nil {
			_ = dl.SetDeadline(time.Now().Add(sv.Limits.Idle))
		}
		c, err := ln.Accept()
		var ne net.Error
		switch {
		case err == nil:
			sv.start(c)
		case sv.ctx.Err() != nil:
			return nil
		case errors.Is(err, net.ErrClosed):
			return fmt.Errorf("metrics: %w", err)
		case errors.As(err, &ne) && ne.Timeout():
			if sv.count() == 0 {
				return nil
			}
		default:
			// Out of descriptors and the like: a moment's pause, as
			// net/http does, rather than a busy loop.
			sv.faults.add(fmt.Sprintf("accept: %v", err))
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (sv *serving) count() int {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	return len(sv.open)
}

// start takes on a connection, making room at the limit: the oldest
// connection still without a request goes (an idle holder cannot keep
// out a scraper, which sends its request at once); when every one is
// being answered, which is short, the new one goes.
func (sv *serving) start(nc net.Conn) {
	c := &conn{Conn: nc, waiting: true}
	sv.mu.Lock()
	if len(sv.open) >= sv.Limits.MaxConns {
		i := slices.IndexFunc(sv.open, func(o *conn) bool { return o.waiting })
		if i < 0 {
			sv.mu.Unlock()
			_ = nc.Close()
			sv.clients.add("refused: every connection was being answered")
			return
		}
		old := sv.open[i]
		old.evicted = true
		_ = old.Close()
		sv.open = slices.Delete(sv.open, i, i+1)
	}
	sv.open = append(sv.open, c)
	sv.mu.Unlock()
	sv.wg.Add(1)
	go func() {
		defer sv.wg.Done()
		defer sv.forget(c)
		sv.handle(c)
	}()
}

func (sv *serving) forget(c *conn) {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	if i := slices.Index(sv.open, c); i >= 0 {
		sv.open = slices.Delete(sv.open, i, i+1)
	}
}

func (sv *serving) closeAll() {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	for _, c := range sv.open {
		_ = c.Close()
	}
}

// handle answers one request and closes the connection.
func (sv *serving) handle(c *conn) {
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(sv.Limits.Request))
	path, err := readRequest(c)
	sv.mu.Lock()
	c.waiting = false
	evicted := c.evicted
	sv.mu.Unlock()
	switch {
	case sv.ctx.Err() != nil:
		// Stopping: nobody's fault.
	case evicted:
		sv.clients.add(fmt.Sprintf("closed without a request to make room (at most %d connections)", sv.Limits.MaxConns))
	case isTimeout(err):
		sv.clients.add(fmt.Sprintf("no request within %v", sv.Limits.Request))
	case errors.Is(err, errNotGet):
		sv.reply(c, "400 Bad Request", "", nil)
		sv.clients.add("not an HTTP/1.x GET request")
	case err != nil:
		sv.clients.add("closed before its request was complete")
	case path != "/metrics":
		sv.reply(c, "404 Not Found", "text/plain", []byte("left4me metrics are at /metrics\n"))
	default:
		body, err := sv.g.get(sv.ctx)
		if sv.ctx.Err() != nil {
			return
		}
		if err != nil {
			sv.faults.add(err.Error())
			sv.reply(c, "500 Internal Server Error", "", nil)
			return
		}
		sv.reply(c, "200 OK", ContentType, body)
	}
}

// reply writes an HTTP/1.0 answer: the connection ends with it.
func (sv *serving) reply(c *conn, status, ctype string, body []byte) {
	_ = c.SetWriteDeadline(time.Now().Add(sv.Limits.Write))
	var b bytes.Buffer
	fmt.Fprintf(&b, "HTTP/1.0 %s\r\n", status)
	if ctype != "" {
		fmt.Fprintf(&b, "Content-Type: %s\r\n", ctype)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n", len(body))
	b.Write(body)
	if _, err := c.Write(b.Bytes()); err != nil && sv.ctx.Err() == nil {
		sv.clients.add("did not take the answer")
	}
}

var errNotGet = errors.New("not an HTTP/1.x GET")

// readRequest reads a request's line and headers, up to the blank line,
// and returns its path.
func readRequest(r io.Reader) (string, error) {
	br := bufio.NewReader(io.LimitReader(r, maxRequest))
	line, err := br.ReadString('\n')
	if err != nil {
		if line == "" || isTimeout(err) {
			return "", err
		}
		return "", errNotGet // cut short, or longer than maxRequest
	}
	f := strings.Fields(line)
	if len(f) != 3 || f[0] != "GET" || !strings.HasPrefix(f[2], "HTTP/1.") {
		return "", errNotGet
	}
	for {
		h, err := br.ReadString('\n')
		if isTimeout(err) {
			return "", err
		}
		if err != nil {
			return "", errNotGet
		}
		if strings.TrimSpace(h) == "" {
			break
		}
	}
	path, _, _ := strings.Cut(f[1], "?")
	return path, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// gatherer runs one gathering at a time; who asks meanwhile, or within
// fresh of its end, gets its answer.
type gatherer struct {
	fn      func(context.Context, io.Writer) error
	fresh   time.Duration
	timeout time.Duration
	ctx     context.Context // the server's: a gathering outlives the request that started it
	mu      sync.Mutex
	cur     *flight
}

type flight struct {
	done  chan struct{}
	body  []byte
	err   error
	ended time.Time // zero while it runs
}

func (g *gatherer) get(ctx context.Context) ([]byte, error) {
	g.mu.Lock()
	f := g.cur
	if f == nil || (!f.ended.IsZero() && time.Since(f.ended) >= g.fresh) {
		f = &flight{done: make(chan struct{})}
		g.cur = f
		go g.run(f)
	}
	g.mu.Unlock()
	select {
	case <-f.done:
		return f.body, f.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (g *gatherer) run(f *flight) {
	ctx, cancel := context.WithTimeout(g.ctx, g.timeout)
	defer cancel()
	var b bytes.Buffer
	err := g.fn(ctx, &b)
	g.mu.Lock()
	f.body, f.err, f.ended = b.Bytes(), err, time.Now()
	g.mu.Unlock()
	close(f.done)
}

// tally says the first of its events in the journal at once and sums up
// the rest once per period: a client that misbehaves on purpose, or many,
// must not flood the journal.
type tally struct {
	w        io.Writer
	prio     string
	what     string
	period   time.Duration
	mu       sync.Mutex
	said     time.Time
	pending  map[string]int
	npending int
}

func newTally(w io.Writer, prio, what string, period time.Duration) *tally {
	return &tally{w: w, prio: prio, what: what, period: period, pending: map[string]int{}}
}

func (t *tally) add(reason string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.npending == 0 && time.Since(t.said) >= t.period {
		fmt.Fprintf(t.w, "%s%s: %s\n", t.prio, t.what, reason)
		t.said = time.Now()
		return
	}
	t.pending[reason]++
	t.npending++
}

// flush sums up what was held back.
func (t *tally) flush() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.npending == 0 {
		return
	}
	reasons := make([]string, 0, len(t.pending))
	for r, n := range t.pending {
		reasons = append(reasons, fmt.Sprintf("%d× %s", n, r))
	}
	slices.Sort(reasons)
	fmt.Fprintf(t.w, "%s%s, %d more time(s) since the last such line: %s\n", t.prio, t.what, t.npending, strings.Join(reasons, "; "))
	clear(t.pending)
	t.npending = 0
	t.said = time.Now()
}
