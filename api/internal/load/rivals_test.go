package load

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// TestHS256JWTMatchesTheKnownToken signs the widely published example
// token (jwt.io's, secret "your-256-bit-secret") and checks Mercure's
// publisher token against an HMAC computed here.
func TestHS256JWTMatchesTheKnownToken(t *testing.T) {
	got := hs256JWT([]byte("your-256-bit-secret"), []byte(`{"sub":"1234567890","name":"John Doe","iat":1516239022}`))
	const want = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	if got != want {
		t.Fatalf("hs256JWT =\n%s\nwant\n%s", got, want)
	}

	parts := strings.Split(mercureJWT, ".")
	if len(parts) != 3 {
		t.Fatalf("mercureJWT has %d parts, want 3", len(parts))
	}
	claims, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Mercure struct {
			Publish []string `json:"publish"`
		} `json:"mercure"`
	}
	if err := json.Unmarshal(claims, &c); err != nil || len(c.Mercure.Publish) != 1 || c.Mercure.Publish[0] != "*" {
		t.Fatalf("claims %s (%v): want mercure.publish [*]", claims, err)
	}
	mac := hmac.New(sha256.New, []byte(mercureKey))
	mac.Write([]byte(parts[0] + "." + parts[1]))
	if sig := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)); sig != parts[2] {
		t.Fatalf("signature %s, want %s", parts[2], sig)
	}
	if len(mercureKey) < 32 {
		t.Fatalf("the HS256 key has %d bytes; Mercure wants at least 32", len(mercureKey))
	}
}

// TestContendersReadTheirStreams feeds each contender's frames, as its
// server writes them (docs/BENCHMARKS.md, "Rivals"), through the
// subscriber: the open frame makes it ready, every message of the run
// counts once, a repeat is a duplicate, another run's message and
// unknown frames are ignored, keep-alives are pings.
func TestContendersReadTheirStreams(t *testing.T) {
	tr := newTracker(1)
	msg := func(seq int64) string { return tr.comment(time.Unix(0, 1_000_000_000*seq), seq) }
	other := "load 1 1 someoneelse"
	kairanChange := func(text string) string { // a lean frame, as the kairan adapter asks for
		b := shared.EncodeLeanChange(shared.Change{Seq: 7, Board: benchChannel, Kind: shared.ChangeCreated,
			Topic: shared.Topic{ID: 7, Board: benchChannel, Author: "load", Comment: text, CreatedAt: time.Now(), UpdatedAt: time.Now()}})
		return string(sse.AppendEvent(nil, "created", "7", b))
	}
	centrifugoPub := func(text string) string {
		b, _ := json.Marshal(map[string]any{"channel": benchChannel, "pub": map[string]any{"data": map[string]string{"m": text}}})
		return "data: " + string(b) + "\n\n"
	}
	mercureUpdate := func(text string) string {
		return "id: urn:uuid:01a24e73-1be5-734a-9f0c-1266c65610d9\ndata: " + text + "\n\n"
	}
	for _, tc := range []struct {
		ct     contender
		stream string
	}{
		{kairanContender, "retry: 2000\n\n" + string(sse.AppendEvent(nil, "reset", "c0", []byte(`{"topics":[]}`))) +
			kairanChange(msg(1)) + ": ping\n\n" + kairanChange(msg(2)) + kairanChange(msg(2)) + kairanChange(other) +
			string(sse.AppendEvent(nil, "deleted", "8", []byte(`{"id":7}`))) + ": ping\n\n"},
		{centrifugo, "\r\n" + `data: {"connect":{"client":"x","version":"6.9.1 OSS","subs":{"bench":{}},"ping":25}}` + "\n\n" +
			centrifugoPub(msg(1)) + "data: {}\n\n" + centrifugoPub(msg(2)) + centrifugoPub(msg(2)) + centrifugoPub(other) +
			`data: {"channel":"elsewhere","pub":{"data":{"m":"x"}}}` + "\n\n" + "data: {}\n\n"},
		{mercure, ":\n" + mercureUpdate(msg(1)) + ":\n" + mercureUpdate(msg(2)) + mercureUpdate(msg(2)) + mercureUpdate(other) +
			"event: other\ndata: x\n\n:\n"},
	} {
		for _, via := range []string{"goroutine", "loop", "loop chunked"} {
			t.Run(tc.ct.name+" "+via, func(t *testing.T) {
				tr := &tracker{tag: tr.tag, clients: 1, allReady: make(chan struct{}), settled: make(chan struct{})} // one of its own, same tag
				tr.target.Store(math.MaxInt64)
				s := &rivalSub{ct: tc.ct, t: tr}
				var err error
				if via == "goroutine" {
					err = s.read(strings.NewReader(tc.stream))
				} else {
					err = readViaLoop(t, s, tc.stream, via == "loop chunked")
				}
				if !errors.Is(err, io.ErrUnexpectedEOF) {
					t.Fatalf("read = %v, want io.ErrUnexpectedEOF at the stream's end", err)
				}
				if !s.opened || tr.ready.Load() != 1 {
					t.Errorf("opened %v, ready %d: want the open frame counted once", s.opened, tr.ready.Load())
				}
				if len(s.got) != 2 || s.dups != 1 {
					t.Errorf("got %d messages and %d duplicates, want 2 and 1", len(s.got), s.dups)
				}
				if !slices.Equal(s.gotSeq, []int64{1, 2}) {
					t.Errorf("messages %v, want [1 2]", s.gotSeq)
				}
				if n := len(s.pingGaps) + len(s.firstPingGaps); n != 2 {
					t.Errorf("%d pings counted, want 2", n)
				}
				if len(s.pingGaps) != 0 {
					t.Errorf("%d ping-after-ping gaps; every ping here follows a message", len(s.pingGaps))
				}
				if via != "goroutine" && s.wireIn.Load() <= int64(len(tc.stream)) {
					t.Errorf("%d bytes counted in, want the body's %d and the head", s.wireIn.Load(), len(tc.stream))
				}
			})
		}
	}
}

// serveOneStream gives the test a stream loop and a loopback listener
// whose first connection has its request read and is then answered by
// serve; served gets serve's result. Both are closed when the test ends.
func serveOneStream(t *testing.T, serve func(c net.Conn) error) (loops *streamLoops, ln net.Listener, served <-chan error) {
	loops, err := newStreamLoops(1)
	if err != nil {
		t.Fatal(err)
	}
	if loops == nil {
		t.Skip("no stream loops on this system")
	}
	t.Cleanup(loops.close)
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	done := make(chan error, 1)
	go func() {
		done <- func() error {
			c, err := ln.Accept()
			if err != nil {
				return err
			}
			defer c.Close()
			if _, err := http.ReadRequest(bufio.NewReader(c)); err != nil {
				return err
			}
			return serve(c)
		}()
	}()
	return loops, ln, done
}

// readViaLoop serves stream from a real loopback socket, as an HTTP/1.1
// answer delimited by its close or chunked, and reads it as the rivals
// run does: its head through net/http, its body on a stream loop. The
// head goes out with the stream's first bytes in one write (so they
// arrive with it), the rest in small pieces that split lines and frames.
// A chunked answer ends with its last chunk and the connection is left
// open: only the chunk decoder can end that stream, and the server then
// reads the loop's close.
func readViaLoop(t *testing.T, s *rivalSub, stream string, chunked bool) error {
	loops, ln, served := serveOneStream(t, func(c net.Conn) error {
		var out bytes.Buffer
		out.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n")
		var body io.Writer = &out
		if chunked {
			out.WriteString("Transfer-Encoding: chunked\r\n")
			body = httputil.NewChunkedWriter(&out)
		}
		out.WriteString("\r\n")
		rest := stream[min(40, len(stream)):]
		io.WriteString(body, stream[:len(stream)-len(rest)])
		for len(rest) > 0 || out.Len() > 0 {
			if _, err := c.Write(out.Bytes()); err != nil {
				return err
			}
			out.Reset()
			n := min(7, len(rest))
			if n > 0 {
				io.WriteString(body, rest[:n])
			}
			rest = rest[n:]
		}
		if chunked {
			if _, err := io.WriteString(c, "0\r\n\r\n"); err != nil {
				return err
			}
			_, err := io.Copy(io.Discard, c) // until the client closes
			return err
		}
		return nil
	})
	s.loops, s.url = loops, "http://"+ln.Addr().String()+"/stream"
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute) // a lost end fails, not hangs
	defer cancel()
	err := s.stream(ctx, nil)
	ln.Close()
	if serr := <-served; serr != nil {
		t.Fatalf("serving the stream: %v", serr)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("the stream's end was never reported")
	}
	return err
}

// TestStreamLoopLetsGoWhenTheFollowerStops: a stream the server keeps
// open ends when the follower's context does; follow returns only after
// the loop has closed the socket (the server reads its end) and stopped
// calling into the stream.
func TestStreamLoopLetsGoWhenTheFollowerStops(t *testing.T) {
	loops, ln, closed := serveOneStream(t, func(c net.Conn) error {
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\n\r\n: ok\n\n"); err != nil {
			return err
		}
		_, err := io.Copy(io.Discard, c) // returns at the client's close
		return err
	})
	conn, st, err := openRaw(t.Context(), nil, "http://"+ln.Addr().String()+"/", new(atomic.Int64), new(atomic.Int64))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	comments := make(chan string, 10)
	var after atomic.Bool
	st.events = sse.NewFeeder(1<<10, func(sse.Event) {})
	st.events.OnComment(func(text string) {
		if after.Load() {
			t.Error("the loop called into a stream after follow returned")
		}
		comments <- text
	})
	followed := make(chan error, 1)
	go func() { followed <- loops.follow(ctx, 0, conn, st) }()
	if got := <-comments; got != "ok" { // the stream is on the loop
		t.Fatalf("comment %q, want ok", got)
	}
	cancel()
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Fatalf("follow = %v, want context.Canceled", err)
	}
	after.Store(true)
	select {
	case err := <-closed:
		if err != nil {
			t.Fatalf("the server's read after the drop: %v, want the client's close", err)
		}
	case <-time.After(time.Minute): // a bound on a hang, not a timing
		t.Fatal("the socket is still open after follow returned")
	}
}

// TestMercureAndCentrifugoOpenOnlyOnTheirFirstFrame: a stream that is not
// yet open counts no ping, and an open frame is not a message.
func TestMercureAndCentrifugoOpenOnlyOnTheirFirstFrame(t *testing.T) {
	if f := mercure.comment("", false); f != frameOpen {
		t.Errorf("Mercure's first comment is %v, want frameOpen", f)
	}
	if f := mercure.comment("", true); f != framePing {
		t.Errorf("Mercure's later comment is %v, want framePing", f)
	}
	if f := kairanContender.comment("ping", false); f != frameOther {
		t.Errorf("a kairan comment before the reset is %v, want frameOther", f)
	}
	if f, _ := centrifugo.event(sse.Event{Type: "message", Data: "not json"}); f != frameOther {
		t.Errorf("unreadable Centrifugo data is %v, want frameOther", f)
	}
}

func TestRivalsTableTakesMediansAndRatioToTheBestRival(t *testing.T) {
	run := func(server string, round int, p50 float64, rss float64) *RivalRun {
		return &RivalRun{Server: server, K: 1000, Round: round, Delivery: Dist{P50: p50, P99: 2 * p50},
			PublishAnswer: Dist{P50: 1, Max: 3 * p50},
			RSSPerSubKiB:  rss, PingSeconds: math.NaN(), PingCPUPerSub: math.NaN()}
	}
	runs := []*RivalRun{
		run("kairan", 1, 10, 20), run("centrifugo", 1, 8, 60), run("mercure", 1, 12, 50),
		run("kairan", 2, 14, 20), run("centrifugo", 2, 9, 70), run("mercure", 2, 11, 52),
		run("kairan", 3, 12, 20), run("centrifugo", 3, 30, 65), run("mercure", 3, 100, 51),
	}
	rows := rivalsTable(runs, Contenders, []int{1000})
	if got := strings.Join(rows[0], "|"); got != "K|figure|kairan|centrifugo|mercure|kairan ÷ best rival" {
		t.Fatalf("head %q", got)
	}
	find := func(name string) []string {
		for _, r := range rows {
			if r[1] == name {
				return r
			}
		}
		t.Fatalf("no row %q in %q", name, rows)
		return nil
	}
	// kairan 12 (10–14), Centrifugo 9 (8–30), Mercure 12 (11–100): 12 ÷ 9.
	if got, want := strings.Join(find("delivery p50 ms")[2:], "|"), "12 (10–14)|9 (8–30)|12 (11–100)|1.33×"; got != want {
		t.Errorf("delivery p50 row %q, want %q", got, want)
	}
	// The slowest publish answer has a row of its own, from the answers' maximum.
	if got, want := strings.Join(find("publish answered, slowest ms")[2:], "|"), "36 (30–42)|27 (24–90)|36 (33–300)|1.33×"; got != want {
		t.Errorf("slowest publish row %q, want %q", got, want)
	}
	// Identical rounds show no range; the best rival is the lowest.
	if got, want := strings.Join(find("RSS per subscriber KiB")[2:], "|"), "20|65 (60–70)|51 (50–52)|0.39×"; got != want {
		t.Errorf("RSS row %q, want %q", got, want)
	}
	if got := find("ping interval s (from the streams)"); got[2] != "n/a" || got[5] != "—" {
		t.Errorf("ping row %q: want n/a for no ping and no ratio", got)
	}
	if got := find("idle CPU per ping per subscriber µs (pings in the window)"); got[5] != "—" {
		t.Errorf("a ratio of unknown figures is %q, want —", got[5])
	}

	if m := median([]float64{3, math.NaN(), 1, 2, 10}); m != 2.5 {
		t.Errorf("median leaving out NaN = %v, want 2.5", m)
	}
	if q := ratioToBest(5, []float64{0, 7}); !math.IsNaN(q) {
		t.Errorf("ratio to a best of 0 = %v, want NaN", q)
	}
	if q := ratioToBest(5, nil); !math.IsNaN(q) {
		t.Errorf("ratio with no rival = %v, want NaN", q)
	}
}

// TestLastDeliveriesTakeEachMessagesSlowestSubscriber: one figure per
// message, its latest delivery to anyone.
func TestLastDeliveriesTakeEachMessagesSlowestSubscriber(t *testing.T) {
	ms := time.Millisecond
	subs := []*rivalSub{
		{got: []time.Duration{5 * ms, 9 * ms}, gotSeq: []int64{1, 2}},
		{got: []time.Duration{3 * ms, 7 * ms}, gotSeq: []int64{2, 1}},
		{got: []time.Duration{40 * ms}, gotSeq: []int64{3}}, // only one subscriber had message 3
	}
	got := lastDeliveries(subs)
	slices.Sort(got)
	if want := []time.Duration{7 * ms, 9 * ms, 40 * ms}; !slices.Equal(got, want) {
		t.Fatalf("lastDeliveries = %v, want %v", got, want)
	}
}

func TestPingIntervalPrefersGapsBetweenPings(t *testing.T) {
	s := time.Second
	if got := pingInterval([]time.Duration{25 * s, 24 * s, 26 * s}, []time.Duration{3 * s}); got != 25*s {
		t.Errorf("between pings: %v, want 25s", got)
	}
	if got := pingInterval(nil, []time.Duration{40 * s, 41 * s, 39 * s}); got != 40*s {
		t.Errorf("only after messages: %v, want 40s", got)
	}
	if got := pingInterval(nil, nil); got != 0 {
		t.Errorf("no pings: %v, want 0", got)
	}
}

// TestRivalsRunsEachServer makes a small run against each server: kairan
// always (built from this checkout), Centrifugo and Mercure when
// KAIRAN_RIVALS_CENTRIFUGO and KAIRAN_RIVALS_MERCURE name their binaries
// (go tool task bench:rivals builds them into bin/rivals/). Every
// subscriber must get every message once; figures are logged, not
// asserted.
func TestRivalsRunsEachServer(t *testing.T) {
	kairan, err := serverBinary()
	if err != nil {
		t.Fatal(err)
	}
	bins := map[string]string{"kairan": kairan,
		"centrifugo": os.Getenv("KAIRAN_RIVALS_CENTRIFUGO"), "mercure": os.Getenv("KAIRAN_RIVALS_MERCURE")}
	for _, name := range Contenders {
		t.Run(name, func(t *testing.T) {
			if bins[name] == "" {
				t.Skipf("KAIRAN_RIVALS_%s is not set: no %s binary to run (go tool task bench:rivals builds one into bin/rivals/)",
					strings.ToUpper(name), name)
			}
			c := RivalsConfig{Messages: 5, Interval: 50 * time.Millisecond, Idle: 500 * time.Millisecond, Settle: time.Minute,
				Log: testLog{t}}
			c.defaults()
			const k = 20
			r, err := runRival(context.Background(), contenderNamed(name), bins[name], k, c)
			if err != nil {
				t.Fatal(err)
			}
			t.Log(r.summary())
			if r.Ready != k || r.Published != 5 || r.Missed != 0 || r.Duplicates != 0 || r.StreamErrors != 0 || r.Delivery.N != 5*k {
				t.Fatalf("ready %d of %d, %d of 5 published, %d deliveries, missed %d, duplicates %d, stream errors %d: want all once",
					r.Ready, k, r.Published, r.Delivery.N, r.Missed, r.Duplicates, r.StreamErrors)
			}
			if r.LastDelivery.N != 5 || r.LastDelivery.Max != r.Delivery.Max || r.LastDelivery.Min < r.Delivery.Min {
				t.Fatalf("last delivery per message %+v against every delivery %+v: want one per message, the slowest the same",
					r.LastDelivery, r.Delivery)
			}
		})
	}
}
