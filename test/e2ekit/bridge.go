package e2ekit

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ModuleRoot is the directory of the go.mod above the running test.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test")
		}
		dir = parent
	}
}

// Build compiles ./cmd/scimbridge into dir and returns the binary's path.
func Build(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "scimbridge")
	build := exec.Command("go", "build", "-o", bin, "./cmd/scimbridge")
	build.Dir = ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// FreePort is a loopback port free at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// Bridge runs `scimbridge serve --config Config` and restarts it.
type Bridge struct {
	T          testing.TB
	Bin        string
	Config     string
	Base       string   // http://127.0.0.1:port
	Env        []string // added to the environment (tokens)
	AdminToken string
	Log        *os.File

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	starts int
}

// Start starts serve and waits until /healthz answers 200.
func (b *Bridge) Start() {
	b.T.Helper()
	t0 := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	cmd := exec.Command(b.Bin, "serve", "--config", b.Config)
	cmd.Env = append(os.Environ(), b.Env...)
	cmd.Stdout, cmd.Stderr = b.Log, b.Log
	if err := cmd.Start(); err != nil {
		b.T.Fatalf("start serve: %v", err)
	}
	b.cmd, b.exited = cmd, make(chan struct{})
	go func(c *exec.Cmd, ch chan struct{}) { _ = c.Wait(); close(ch) }(cmd, b.exited)
	b.starts++
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(b.Base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				b.T.Logf("serve start %d: healthy after %s", b.starts, time.Since(t0).Round(time.Millisecond))
				return
			}
		}
		select {
		case <-b.exited:
			b.T.Fatalf("serve exited at start; log:\n%s", b.LogTail())
		default:
		}
		if time.Now().After(deadline) {
			b.T.Fatalf("serve not healthy after 30s; log:\n%s", b.LogTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Kill sends SIGKILL to the serve process this test started and waits for it.
func (b *Bridge) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGKILL)
	<-b.exited
	b.cmd = nil
}

// Starts counts the starts so far.
func (b *Bridge) Starts() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.starts
}

// LogTail is the last 8 KB of serve's log.
func (b *Bridge) LogTail() string {
	data, _ := os.ReadFile(b.Log.Name())
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	return string(data)
}

// AdminGet decodes the answer of a GET on the bridge's admin API.
func (b *Bridge) AdminGet(path string, out any) error {
	req, _ := http.NewRequest(http.MethodGet, b.Base+path, nil)
	req.Header.Set("Authorization", "Bearer "+b.AdminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("admin %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin %s: %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Status is one connector's line of /admin/status.
type Status struct {
	Name        string `json:"name"`
	QueueDepth  int    `json:"queueDepth"`
	InFlight    int    `json:"inFlight"`
	DeadLetters int    `json:"deadLetters"`
	LastError   string `json:"lastError"`
}

// Status is /admin/status's connectors.
func (b *Bridge) Status() ([]Status, error) {
	var st struct {
		Connectors []Status `json:"connectors"`
	}
	err := b.AdminGet("/admin/status", &st)
	return st.Connectors, err
}
