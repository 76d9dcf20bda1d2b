package load

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kairan/kairan/shared"
	"github.com/kairan/kairan/shared/sse"
)

// frame is what one event or comment of a stream is to the rivals run.
type frame int

const (
	frameOther   frame = iota // anything the run does not count
	frameOpen                 // the stream is subscribed: the first frame each server sends
	framePing                 // a keep-alive
	frameMessage              // a published message
)

// contender is one server of the rivals benchmark: how to start a fresh
// one, how to publish a message on the bench channel, and how to read
// that channel's SSE stream. Each speaks its own documented protocol; the
// subscribers and the publisher around them are the same for all three.
type contender struct {
	name string
	// start runs bin as a fresh server on 127.0.0.1 (on the CPUs cpus
	// names, "" for any), its configuration written into a new temporary
	// directory, and waits until it answers.
	start func(ctx context.Context, bin string, log io.Writer, cpus string) (*Child, error)
	// stream is the SSE address of the bench channel.
	stream func(base string) string
	// publish sends text as one message and returns once it is answered.
	publish func(ctx context.Context, hc *http.Client, base, text string) error
	// event classifies a dispatched event, and for a message returns the
	// text that was published.
	event func(ev sse.Event) (frame, string)
	// comment classifies a comment line; opened says whether the stream
	// has had its open frame.
	comment func(text string, opened bool) frame
}

// The channel every contender's subscribers follow.
const benchChannel = "bench"

// Contenders are the names `kairan-load rivals --only` accepts, in the
// order a round starts with.
var Contenders = []string{"kairan", "centrifugo", "mercure"}

func contenderNamed(name string) contender {
	switch name {
	case "centrifugo":
		return centrifugo
	case "mercure":
		return mercure
	}
	return kairanContender
}

// kairanContender speaks the wire contract of docs/DESIGN.md section 3 as
// kairan's own clients do: a post is answered after its SQLite commit;
// the stream (lean frames, ?v=2) opens with a reset.
var kairanContender = contender{
	name:  "kairan",
	start: startServerOn,
	stream: func(base string) string {
		return base + "/api/boards/" + benchChannel + "/events?v=" + shared.LeanStreamVersion
	},
	publish: func(ctx context.Context, hc *http.Client, base, text string) error {
		body, _ := json.Marshal(shared.CreateTopic{Author: "load", Comment: text})
		return send(ctx, hc, "POST", base+"/api/boards/"+benchChannel+"/topics", "application/json", nil, body)
	},
	event: func(ev sse.Event) (frame, string) {
		switch ev.Type {
		case "reset":
			return frameOpen, ""
		case string(shared.ChangeCreated):
			// Read as kairan's own clients read a change: the whole
			// topic, by the product's decoder. The epoch only goes into
			// the change's cursor string; this adapter does not follow
			// it, and any 16-digit one costs the same.
			if c, err := shared.DecodeLeanChange(ev.Type, ev.ID, ev.Data, benchChannel, "0123456789abcdef"); err == nil {
				return frameMessage, c.Topic.Comment
			}
		}
		return frameOther, ""
	},
	comment: func(text string, opened bool) frame {
		if opened {
			return framePing // ": ping" after two silent heartbeats
		}
		return frameOther
	},
}

// centrifugoKey is the HTTP API key written into Centrifugo's
// configuration; it never leaves loopback.
const centrifugoKey = "kairan-load-rivals"

// centrifugo is Centrifugo v6 with its unidirectional SSE transport
// (/connection/uni_sse), server-side subscription to the channel asked for
// in the connect request, its HTTP API (/api/publish) and its default
// in-memory broker. Every frame is one JSON push on a data line: the
// connect reply first, a publication as {"channel", "pub": {"data"}}, a
// ping as {}.
var centrifugo = contender{
	name: "centrifugo",
	start: func(ctx context.Context, bin string, log io.Writer, cpus string) (*Child, error) {
		// Anonymous connections, allowed to be subscribed to channels
		// without a namespace: no token to make per subscriber.
		conf := func(_ string, port int) string {
			return fmt.Sprintf(`{
  "http_server": {"address": "127.0.0.1", "port": %d},
  "log": {"level": "error"},
  "client": {"allow_anonymous_connect_without_token": true},
  "channel": {"without_namespace": {"allow_subscribe_for_client": true, "allow_subscribe_for_anonymous": true}},
  "uni_sse": {"enabled": true},
  "http_api": {"key": %q}
}
`, port, centrifugoKey)
		}
		return startRival(ctx, log, cpus, "centrifugo", bin, "config.json", conf, "--config", "config.json")
	},
	stream: func(base string) string {
		return base + "/connection/uni_sse?cf_connect=" + url.QueryEscape(`{"subs":{"`+benchChannel+`":{}}}`)
	},
	publish: func(ctx context.Context, hc *http.Client, base, text string) error {
		body, _ := json.Marshal(map[string]any{"channel": benchChannel, "data": map[string]string{"m": text}})
		var answer struct {
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		err := send(ctx, hc, "POST", base+"/api/publish", "application/json", map[string]string{"X-API-Key": centrifugoKey}, body, &answer)
		if err == nil && answer.Error != nil {
			err = fmt.Errorf("centrifugo API error %d: %s", answer.Error.Code, answer.Error.Message)
		}
		return err
	},
	event: func(ev sse.Event) (frame, string) {
		var push struct {
			Connect *json.RawMessage `json:"connect"`
			Channel string           `json:"channel"`
			Pub     *struct {
				Data struct {
					M string `json:"m"`
				} `json:"data"`
			} `json:"pub"`
		}
		if ev.Type != "message" || json.Unmarshal([]byte(ev.Data), &push) != nil {
			return frameOther, ""
		}
		switch {
		case push.Connect != nil:
			return frameOpen, ""
		case push.Pub != nil && push.Channel == benchChannel:
			return frameMessage, push.Pub.Data.M
		case strings.TrimSpace(ev.Data) == "{}":
			return framePing, ""
		}
		return frameOther, ""
	},
	comment: func(string, bool) frame { return frameOther },
}

// mercureKey signs the publisher's JWT (HS256 wants at least 256 bits).
const mercureKey = "kairan-load-rivals-mercure-hs256-key-0123456789"

// mercure is the Mercure hub as its standalone Caddy build runs it, with
// its default transport, Bolt (a file in the temporary directory),
// anonymous subscribers and a publisher JWT. A subscription starts with
// an empty comment, heartbeats are empty comments, an update is an event
// whose data is what was published.
var mercure = contender{
	name: "mercure",
	start: func(ctx context.Context, bin string, log io.Writer, cpus string) (*Child, error) {
		conf := func(dir string, port int) string {
			return fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
	log {
		level ERROR
	}
}

http://127.0.0.1:%d {
	mercure {
		publisher_jwt %s HS256
		subscriber_jwt %s HS256
		anonymous
		transport bolt {
			path %s
		}
	}
}
`, port, mercureKey, mercureKey, filepath.Join(dir, "mercure.db"))
		}
		return startRival(ctx, log, cpus, "mercure", bin, "Caddyfile", conf, "run", "--config", "Caddyfile", "--adapter", "caddyfile")
	},
	stream: func(base string) string {
		return base + "/.well-known/mercure?topic=" + benchChannel
	},
	publish: func(ctx context.Context, hc *http.Client, base, text string) error {
		form := url.Values{"topic": {benchChannel}, "data": {text}}
		auth := map[string]string{"Authorization": "Bearer " + mercureJWT}
		return send(ctx, hc, "POST", base+"/.well-known/mercure", "application/x-www-form-urlencoded", auth, []byte(form.Encode()))
	},
	event: func(ev sse.Event) (frame, string) {
		if ev.Type == "message" {
			return frameMessage, ev.Data
		}
		return frameOther, ""
	},
	comment: func(_ string, opened bool) frame {
		if opened {
			return framePing
		}
		return frameOpen // written right after the subscriber is added
	},
}

// mercureJWT lets its bearer publish to any topic.
var mercureJWT = hs256JWT([]byte(mercureKey), []byte(`{"mercure":{"publish":["*"]}}`))

// hs256JWT signs claims (a JSON object) as a JSON Web Token with HMAC
// SHA-256 (RFC 7519, RFC 7515 section A.1).
func hs256JWT(key, claims []byte) string {
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(signed))
	return signed + "." + enc.EncodeToString(mac.Sum(nil))
}

// startRival runs bin with args in a new temporary directory, on a free
// loopback port, with the configuration conf makes for that directory and
// port written into file there (the configuration names the port: nothing
// else tells it); its home and data directories are inside too, so it
// writes nothing elsewhere. It returns once the port accepts connections.
func startRival(ctx context.Context, log io.Writer, cpus, name, bin, file string, conf func(dir string, port int) string, args ...string) (*Child, error) {
	bin, err := filepath.Abs(bin)
	if err == nil {
		_, err = os.Stat(bin)
	}
	if err != nil {
		return nil, fmt.Errorf("the %s binary: %w (build it with `go tool task bench:rivals`, or pass --%s)", name, err, name)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	dir, err := os.MkdirTemp("", "kairan-rivals-"+name+"-")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(conf(dir, port)), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	if err := onCPUs(cmd, cpus); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	return launch(ctx, cmd, dir, log, name, func(string) string { return "" }, base)
}

// send makes one request and reads the answer; a status other than 2xx
// is an error. With into, the answer is decoded as JSON into it.
func send(ctx context.Context, hc *http.Client, method, addr, contentType string, headers map[string]string, body []byte, into ...any) error {
	req, err := http.NewRequestWithContext(ctx, method, addr, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s %s: HTTP %d: %.200s", method, addr, resp.StatusCode, b)
	}
	for _, v := range into {
		if err := json.Unmarshal(b, v); err != nil {
			return fmt.Errorf("%s %s: unreadable answer: %w", method, addr, err)
		}
	}
	return nil
}
