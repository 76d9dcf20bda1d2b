// Package nginxtest runs Debian's nginx in front of kairan for tests where
// the proxy is the subject. Without nginx the test is skipped with a
// message, unless KAIRAN_REQUIRE_BROWSER=1 (CI), where it fails instead.
//
// nginx runs as the current user in the foreground (daemon off), with its
// configuration, pid file and temporary files in a directory of the test,
// on listening sockets the test opened and handed over: nothing is left on
// the machine and no port can be taken in between.
package nginxtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Binary finds nginx on PATH or where Debian puts it (/usr/sbin is not on
// every user's PATH), or reports why there is none.
func Binary(t testing.TB) string {
	t.Helper()
	if path, err := exec.LookPath("nginx"); err == nil {
		return path
	}
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	msg := "no nginx on PATH or in /usr/sbin: install Debian's nginx (apt-get install -y nginx) to run the proxy tests"
	if os.Getenv("KAIRAN_REQUIRE_BROWSER") == "1" {
		t.Fatal(msg + " (KAIRAN_REQUIRE_BROWSER=1)")
	}
	t.Skip(msg)
	return ""
}

// Nginx is one running nginx; Stop (or the test's end) stops it.
type Nginx struct {
	Dir  string // its prefix: configuration, pid file, temporary files
	cmd  *exec.Cmd
	log  *lines
	done chan struct{} // closed when the master process has exited
	stop sync.Once
}

// Start runs nginx with mainConf in its main context and httpConf in its
// http block, listening on the sockets given: each listener's address
// must appear in a listen directive. It returns once the workers run.
func Start(t testing.TB, mainConf, httpConf string, listeners ...*net.TCPListener) *Nginx {
	t.Helper()
	bin := Binary(t)
	n := &Nginx{Dir: t.TempDir(), log: newLines(), done: make(chan struct{})}
	conf := filepath.Join(n.Dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(n.config(t, mainConf, httpConf)), 0o600); err != nil {
		t.Fatal(err)
	}
	n.cmd = exec.Command(bin, "-p", n.Dir, "-c", conf, "-e", "stderr")
	// A test binary that dies (a panic, a timeout) runs no cleanup: the
	// kernel stops nginx then.
	n.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// nginx takes over listening sockets named in $NGINX (as in a binary
	// upgrade): they are fds 3, 4, … of the child.
	var fds []string
	for i, ln := range listeners {
		f, err := ln.File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close() // the child has its copy
		n.cmd.ExtraFiles = append(n.cmd.ExtraFiles, f)
		fds = append(fds, strconv.Itoa(3+i))
	}
	n.cmd.Env = append(os.Environ(), "NGINX="+strings.Join(fds, ";")+";")
	stderr, err := n.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	go func() {
		n.log.read(stderr) // until nginx exits and the pipe closes
		n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() { n.Stop(t) })
	n.waitFor(t, 0, "start worker process", "nginx to start")
	return n
}

// config wraps the test's parts in what nginx needs to run unprivileged
// from a directory of its own.
func (n *Nginx) config(t testing.TB, mainConf, httpConf string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "daemon off;\npid %s;\nerror_log stderr notice;\nworker_processes 1;\n", filepath.Join(n.Dir, "nginx.pid"))
	if os.Geteuid() == 0 {
		// As root nginx would hand its workers to "nobody"; stay the
		// current user, who can read the test's files.
		u, err := user.Current()
		if err != nil {
			t.Fatal(err)
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "user %s %s;\n", u.Username, g.Name)
	}
	b.WriteString(mainConf)
	b.WriteString("\nevents { worker_connections 1024; }\nhttp {\n    access_log off;\n")
	for _, tmp := range []string{"client_body", "proxy", "fastcgi", "uwsgi", "scgi"} {
		fmt.Fprintf(&b, "    %s_temp_path %s;\n", tmp, filepath.Join(n.Dir, tmp))
	}
	b.WriteString(httpConf)
	b.WriteString("\n}\n")
	return b.String()
}

// Reload sends SIGHUP, as `nginx -s reload` does, and returns once the new
// workers run. The old workers finish their connections first.
func (n *Nginx) Reload(t testing.TB) {
	t.Helper()
	from := n.log.len()
	if err := n.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatalf("reload nginx: %v", err)
	}
	n.waitFor(t, from, "start worker process", "nginx's new workers")
}

// Stop stops nginx at once (SIGTERM) and waits for it to exit.
func (n *Nginx) Stop(t testing.TB) {
	n.stop.Do(func() {
		n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
			n.cmd.Process.Kill()
			<-n.done
			t.Errorf("nginx did not stop on SIGTERM within 30 s; killed. Its log:\n%s", n.log.String())
		}
	})
}

// Log is what nginx has written to stderr so far.
func (n *Nginx) Log() string { return n.log.String() }

// waitFor waits for a log line, after the first `from` lines, holding
// text; nginx exiting first, or 60 s (a last-resort bound), fails the test.
func (n *Nginx) waitFor(t testing.TB, from int, text, what string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		found, changed := n.log.find(from, text)
		if found {
			return
		}
		select {
		case <-changed:
		case <-n.done:
			if found, _ := n.log.find(from, text); !found {
				t.Fatalf("waiting for %s: nginx exited. Its log:\n%s", what, n.log.String())
			}
			return
		case <-deadline:
			t.Fatalf("waiting for %s: no %q in nginx's log after 60 s:\n%s", what, text, n.log.String())
		}
	}
}
