// Package container tests the container's situation without a container
// runtime (CI cannot pull base images): the binary built by the script the
// Dockerfile runs, started from an empty directory as a non-root user with
// its configuration from the environment only. It must serve SCIM, answer
// `scimbridge healthcheck`, survive SIGHUP and stop cleanly on SIGTERM.
package container

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/scimbridge/scimbridge/test/e2ekit"
)

// dockerfile is what the test takes from the Dockerfile: the build
// script its build stage runs, and the final stage's ENV and USER.
type dockerfile struct {
	buildScript string
	env         map[string]string
	user        string
	healthcheck string
}

func readDockerfile(t *testing.T, root string) dockerfile {
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	// Join continued lines.
	text := strings.ReplaceAll(string(data), "\\\n", " ")
	d := dockerfile{env: map[string]string{}}
	stage := 0
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		switch strings.ToUpper(f[0]) {
		case "FROM":
			stage++
			d.env = map[string]string{} // the final stage's count
		case "RUN":
			for _, w := range f[1:] {
				if strings.HasSuffix(w, "build.sh") {
					d.buildScript = w
				}
			}
		case "ENV":
			for _, kv := range f[1:] {
				if k, v, ok := strings.Cut(kv, "="); ok {
					d.env[k] = v
				}
			}
		case "USER":
			d.user = f[1]
		case "HEALTHCHECK":
			d.healthcheck = line
		}
	}
	if stage < 2 || d.buildScript == "" || d.user == "" || d.user == "root" || d.user == "0" {
		t.Fatalf("Dockerfile: want a multi-stage build through a build script and a non-root USER; got %+v", d)
	}
	return d
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

const nobody = 65534

func TestContainerSituation(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the release binary")
	}
	root := e2ekit.ModuleRoot(t)
	df := readDockerfile(t, root)
	if df.env["SCIMBRIDGE_LISTEN"] != "0.0.0.0:8080" || df.env["SCIMBRIDGE_DATA_DIR"] != "/data" {
		t.Errorf("Dockerfile ENV: %v, want SCIMBRIDGE_LISTEN=0.0.0.0:8080 and SCIMBRIDGE_DATA_DIR=/data", df.env)
	}
	if !strings.Contains(df.healthcheck, `"healthcheck"`) {
		t.Errorf("Dockerfile HEALTHCHECK does not run scimbridge healthcheck: %q", df.healthcheck)
	}

	tmp := t.TempDir()
	bin := filepath.Join(tmp, "scimbridge")
	build := exec.Command("sh", filepath.Join(root, df.buildScript), bin)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", df.buildScript, err, out)
	}
	// Static: no dynamic section, so it runs on scratch/distroless.
	if out, err := exec.Command("file", bin).CombinedOutput(); err == nil && !strings.Contains(string(out), "statically linked") {
		t.Errorf("not a static binary: %s", out)
	}

	// An empty working directory and data directory, owned by the user
	// the bridge runs as (as the image's /data is).
	work := filepath.Join(tmp, "work")
	data := filepath.Join(tmp, "data")
	for _, d := range []string{work, data} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	asUser := func(cmd *exec.Cmd) {}
	if os.Geteuid() == 0 {
		// The test's temp directories are 0700: let nobody through.
		for d := tmp; d != filepath.Dir(d) && d != os.TempDir(); d = filepath.Dir(d) {
			_ = os.Chmod(d, 0o755)
		}
		for _, d := range []string{work, data} {
			if err := os.Chown(d, nobody, nobody); err != nil {
				t.Fatal(err)
			}
		}
		asUser = func(cmd *exec.Cmd) {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		}
	} else {
		t.Log("not root: running as the current user (already non-root)")
	}

	port := freePort(t)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	env := []string{ // the environment only: no PATH, no HOME, no config file
		"SCIMBRIDGE_LISTEN=127.0.0.1:" + fmt.Sprint(port),
		"SCIMBRIDGE_DATA_DIR=" + data,
		"SCIMBRIDGE_TOKENS=container-scim-token",
		"SCIMBRIDGE_ADMIN_TOKEN=container-admin-token",
	}
	// A file, not a buffer: the process writes it while the test reads.
	logs := &logFile{path: filepath.Join(tmp, "serve.log")}
	lf, err := os.Create(logs.path)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	cmd := exec.Command(bin)
	cmd.Dir, cmd.Env = work, env
	cmd.Stdout, cmd.Stderr = lf, lf
	asUser(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	healthcheck := func() (string, error) {
		hc := exec.Command(bin, "healthcheck")
		hc.Dir, hc.Env = work, env
		asUser(hc)
		out, err := hc.CombinedOutput()
		return string(out), err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := healthcheck()
		if err == nil && strings.TrimSpace(out) == "ready" {
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("serve exited at start: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("healthcheck never passed: %v %s\nserve log:\n%s", err, out, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}

	// It serves SCIM with the token from the environment.
	scim := func(method, path, body string) (int, []byte) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer container-scim-token")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, body := scim(http.MethodPost, "/scim/v2/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com","active":true}`)
	var created struct{ ID string }
	if code != http.StatusCreated || json.Unmarshal(body, &created) != nil || created.ID == "" {
		t.Fatalf("create user: %d %s", code, body)
	}
	if code, body := scim(http.MethodGet, "/scim/v2/Users/"+created.ID, ""); code != http.StatusOK || !bytes.Contains(body, []byte("ada@example.com")) {
		t.Errorf("get user: %d %s", code, body)
	}

	// SIGHUP is not the end of it.
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitLog(t, logs, `"what":"scim clients","time"`) // the reload step's "reloaded" line
	if out, err := healthcheck(); err != nil {
		t.Errorf("healthcheck after SIGHUP: %v %s", err, out)
	}

	// The data file belongs to the user the bridge runs as, readable by it alone.
	if st, err := os.Stat(filepath.Join(data, "scimbridge.db")); err != nil {
		t.Error(err)
	} else if st.Mode().Perm() != 0o600 || (os.Geteuid() == 0 && st.Sys().(*syscall.Stat_t).Uid != nobody) {
		t.Errorf("data file mode %v uid %d", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Uid)
	}

	// SIGTERM: a clean stop with status 0.
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30 s after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown line in the log:\n%s", logs.String())
	}
	// A stopped bridge fails its healthcheck.
	if out, err := healthcheck(); err == nil {
		t.Errorf("healthcheck passed with the server stopped: %s", out)
	}
}

// waitLog waits until the log holds s (the process writes it
// asynchronously).
func waitLog(t *testing.T, logs *logFile, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		sc := bufio.NewScanner(strings.NewReader(logs.String()))
		for sc.Scan() {
			if strings.Contains(sc.Text(), s) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", s, logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type logFile struct{ path string }

func (l *logFile) String() string {
	data, _ := os.ReadFile(l.path)
	return string(data)
}
