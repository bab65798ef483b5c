package deploy

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
)

// composeFile is the part of deploy/compose.yaml the test reads.
type composeFile struct {
	Services map[string]struct {
		Command     []string          `yaml:"command"`
		Environment map[string]string `yaml:"environment"`
		Volumes     []string          `yaml:"volumes"`
		Healthcheck struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
	} `yaml:"services"`
}

// startSimulate runs simulate's compose command on loopback, on a block of
// free ports (its control port, then one per simulator), and waits for its
// compose healthcheck. Between the probe and the start another test's
// socket may take a port of the block (the suite runs packages in
// parallel); simulate then exits, and it is started again on another
// block. It returns simulate's control port.
func startSimulate(t *testing.T, bin string, command, healthcheck []string, simDir string) int {
	t.Helper()
	for attempt := 1; ; attempt++ {
		port := freePortBlock(t, 5)
		args := slices.Clone(command)
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--host":
				args[i+1] = "127.0.0.1"
			case "--port":
				args[i+1] = fmt.Sprint(port)
			case "--advertise":
				args[i+1] = "127.0.0.1"
			case "--credentials-dir":
				args[i+1] = simDir
			}
		}
		cmd := exec.Command(bin, args...)
		logPath := filepath.Join(t.TempDir(), "simulate.log")
		simLog, _ := os.Create(logPath)
		cmd.Stdout, cmd.Stderr = simLog, simLog
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		hc := slices.Clone(healthcheck)
		hc[0] = bin
		for i := range hc {
			hc[i] = strings.Replace(hc[i], "127.0.0.1:9000", fmt.Sprintf("127.0.0.1:%d", port), 1)
		}
		gone := func() bool {
			select {
			case <-exited:
				return true
			default:
				return false
			}
		}
		waitFor(t, "simulate healthcheck", func() bool { return gone() || exec.Command(hc[0], hc[1:]...).Run() == nil }, logPath)
		if !gone() {
			t.Cleanup(func() { _ = cmd.Process.Kill(); <-exited })
			return port
		}
		data, _ := os.ReadFile(logPath)
		if attempt == 3 {
			t.Fatalf("simulate exited on three blocks of ports; the last said:\n%s", data)
		}
		t.Logf("simulate exited (ports %d-%d), trying other ports:\n%s", port, port+4, data)
	}
}

// freePortBlock returns the first of n consecutive loopback ports that
// were free just now.
func freePortBlock(t *testing.T, n int) int {
	t.Helper()
	for range 100 {
		base := freePort(t)
		free := true
		for p := base; p < base+n && free; p++ {
			ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				free = false
				break
			}
			ln.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no block of free ports")
	return 0
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// The compose demo without a container runtime: the simulate service's
// command (on loopback), its healthcheck, then the bridge with the
// service's environment and the mounted config.yaml (its /sim paths
// pointed at the simulate container's files). A user created over SCIM
// reaches every simulated target.
func TestCompose(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the program")
	}
	data, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cf composeFile
	if err := yaml.Unmarshal(data, &cf); err != nil {
		t.Fatal(err)
	}
	sim, bridge := cf.Services["simulate"], cf.Services["scimbridge"]
	if len(sim.Command) == 0 || sim.Command[0] != "simulate" || len(bridge.Environment) == 0 {
		t.Fatalf("compose.yaml: want services simulate (command: simulate ...) and scimbridge; got %+v", cf)
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "scimbridge")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/scimbridge").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	// simulate, as compose runs it, but on loopback, and its healthcheck.
	simDir := filepath.Join(tmp, "sim")
	port := startSimulate(t, bin, sim.Command, sim.Healthcheck.Test[1:], simDir)

	// The bridge: the service's environment, config.yaml with /sim moved.
	cfgData, err := os.ReadFile(filepath.Join("compose", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(tmp, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(strings.ReplaceAll(string(cfgData), "${file:/sim/", "${file:"+simDir+"/")), 0o600); err != nil {
		t.Fatal(err)
	}
	bridgePort := freePort(t)
	env := []string{"SCIMBRIDGE_LISTEN=127.0.0.1:" + fmt.Sprint(bridgePort), "SCIMBRIDGE_DATA_DIR=" + filepath.Join(tmp, "data")}
	defaultRef := regexp.MustCompile(`^\$\{[A-Z_]+:-(.*)\}$`)
	for k, v := range bridge.Environment {
		if m := defaultRef.FindStringSubmatch(v); m != nil {
			v = m[1] // compose's ${VAR:-default}, VAR unset
		}
		if k == "SCIMBRIDGE_EXTERNAL_URL" {
			v = fmt.Sprintf("http://127.0.0.1:%d", bridgePort)
		}
		env = append(env, k+"="+v)
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath)
	cmd.Env = env
	logFile, _ := os.Create(filepath.Join(tmp, "serve.log"))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := fmt.Sprintf("http://127.0.0.1:%d", bridgePort)
	waitFor(t, "bridge ready", func() bool {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	token := envValue(env, "SCIMBRIDGE_TOKENS")
	req, _ := http.NewRequest(http.MethodPost, base+"/scim/v2/Users", strings.NewReader(
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"compose.user@example.com","name":{"givenName":"Compose","familyName":"User"},"emails":[{"value":"compose.user@example.com","primary":true}],"active":true}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create user: %d", resp.StatusCode)
	}
	for _, typ := range []string{"webex", "scc", "secureauth", "secureaccess"} {
		waitFor(t, typ+" holds the user", func() bool {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/_sim/%s/state", port, typ))
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			var st struct{ Users []struct{ UserName string } }
			_ = json.NewDecoder(resp.Body).Decode(&st)
			for _, u := range st.Users {
				if strings.EqualFold(u.UserName, "compose.user@example.com") {
					return true
				}
			}
			return false
		}, filepath.Join(tmp, "serve.log"))
	}
}

func envValue(env []string, key string) string {
	for _, kv := range env {
		if k, v, _ := strings.Cut(kv, "="); k == key {
			return v
		}
	}
	return ""
}

// waitFor polls ok for up to 30 s; on timeout it fails with the logs named.
func waitFor(t *testing.T, what string, ok func() bool, logs ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			for _, l := range logs {
				data, _ := os.ReadFile(l)
				t.Logf("%s:\n%s", l, data)
			}
			t.Fatalf("%s: not within 30 s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
