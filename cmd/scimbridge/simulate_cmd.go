package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/connectors"
	"github.com/scimbridge/scimbridge/connectors/simkit"
	"github.com/scimbridge/scimbridge/connectors/testconn"
)

// simulateFlags configure `scimbridge simulate`.
type simulateFlags struct {
	host      string
	basePort  int
	types     []string
	out       string
	rateScale float64
	advertise string // host named in the printed URLs (another container's view)
	credDir   string // also write DIR/<type>/<key> files (for ${file:...})
}

func init() {
	var f simulateFlags
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Serve every connector's built-in simulator on loopback and print their URLs and credentials as JSON",
		Long: `simulate serves each registered connector's simulator on its own loopback
port, in a process of its own (so the simulated targets outlive a bridge that
is killed), and prints one JSON line:

  {"control": URL, "simulators": {TYPE: {"type", "url", "base_url", "credentials"}}}

Point a connector at a simulator with simulate: false, base_url and
credentials from that line. The control URL serves:

  GET  /_sim                     the same JSON
  GET  /readyz                   200 (scimbridge healthcheck --server URL)
  GET  /_sim/{type}/state        {"users": [...], "groups": [...], "calls": n}
  POST /_sim/{type}/fail?fault=429|429-retry-after|5xx|permanent&n=N
                                 fail the next N resource requests`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runSimulate(ctx, f, simRegistrations(), cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&f.host, "host", "127.0.0.1", "address to listen on (keep it loopback)")
	cmd.Flags().IntVar(&f.basePort, "port", 0, "control port; simulators take the next ports in type order (0 = any free ports)")
	cmd.Flags().StringSliceVar(&f.types, "types", nil, "only these connector types (default: every registered one, and testconn)")
	cmd.Flags().StringVar(&f.out, "out", "", "also write the JSON to this file (written once every simulator listens)")
	cmd.Flags().StringVar(&f.advertise, "advertise", "", "host to name in the printed URLs instead of the listen address (e.g. the compose service name)")
	cmd.Flags().StringVar(&f.credDir, "credentials-dir", "", "also write each simulator's base_url and credentials as DIR/TYPE/KEY files, for config.yaml's ${file:DIR/TYPE/KEY}")
	cmd.Flags().Float64Var(&f.rateScale, "rate-scale", 0, "multiply rate-limit windows of simulators that have them (0.05: a minute lasts 3 s); the matching connector options are printed")
	rootCmd.AddCommand(cmd)
}

// simRegistrations is every registered connector type with a simulator,
// plus testconn (the in-memory test target the crash test uses).
func simRegistrations() []connectors.Registration {
	regs := slices.Clone(registrations())
	if !slices.ContainsFunc(regs, func(r connectors.Registration) bool { return r.Type == testconn.Type }) {
		regs = append(regs, testconn.Registration)
	}
	return regs
}

// SimInfo is how to reach one simulator.
type SimInfo struct {
	Type        string            `json:"type"`
	URL         string            `json:"url"`
	BaseURL     string            `json:"base_url"`
	Credentials map[string]string `json:"credentials"`
	Options     map[string]string `json:"options,omitempty"` // connector options that match the simulator (--rate-scale)
}

// SimulateInfo is what simulate prints.
type SimulateInfo struct {
	Control    string             `json:"control"`
	Simulators map[string]SimInfo `json:"simulators"`
}

// SimState is a simulator's state as the control API shows it.
type SimState struct {
	Users  []simkit.SimUser  `json:"users"`
	Groups []simkit.SimGroup `json:"groups"`
	Calls  int               `json:"calls"`
}

func runSimulate(ctx context.Context, f simulateFlags, regs []connectors.Registration, out io.Writer) error {
	regs = slices.DeleteFunc(regs, func(r connectors.Registration) bool {
		return r.NewSimulator == nil || (len(f.types) > 0 && !slices.Contains(f.types, r.Type))
	})
	slices.SortFunc(regs, func(a, b connectors.Registration) int { return strings.Compare(a.Type, b.Type) })
	if len(regs) == 0 {
		return errors.New("simulate: no connector type with a simulator matches")
	}
	listen := func(i int) (net.Listener, error) {
		port := 0
		if f.basePort > 0 {
			port = f.basePort + i
		}
		return net.Listen("tcp", net.JoinHostPort(f.host, strconv.Itoa(port)))
	}
	info := SimulateInfo{Simulators: map[string]SimInfo{}}
	sims := map[string]connectors.Simulator{}
	var servers []*http.Server
	serve := func(ln net.Listener, h http.Handler) {
		s := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, s)
		go func() { _ = s.Serve(ln) }()
	}
	defer func() {
		for _, s := range servers {
			_ = s.Close()
		}
	}()
	for i, r := range regs {
		ln, err := listen(i + 1)
		if err != nil {
			return fmt.Errorf("simulate %s: %w", r.Type, err)
		}
		sim := r.NewSimulator()
		var simOptions map[string]string
		if rs, ok := sim.(interface {
			ScaleRates(float64) map[string]string
		}); ok && f.rateScale > 0 {
			simOptions = rs.ScaleRates(f.rateScale)
		}
		sims[r.Type] = sim
		url := "http://" + advertised(ln.Addr(), f.advertise)
		info.Simulators[r.Type] = SimInfo{Type: r.Type, URL: url, BaseURL: url + sim.BasePath(), Credentials: sim.Credentials(), Options: simOptions}
		serve(ln, sim)
	}
	ln, err := listen(0)
	if err != nil {
		return fmt.Errorf("simulate control: %w", err)
	}
	info.Control = "http://" + advertised(ln.Addr(), f.advertise)
	if f.credDir != "" {
		// Before the control port answers: a client that waits for
		// it finds the files written.
		if err := writeSimFiles(f.credDir, info); err != nil {
			return err
		}
	}
	serve(ln, simControl(info, sims))

	line, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if f.out != "" {
		tmp := f.out + ".tmp"
		if err := os.WriteFile(tmp, line, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, f.out); err != nil {
			return err
		}
	}
	if _, err := fmt.Fprintf(out, "%s\n", line); err != nil {
		return err
	}
	<-ctx.Done()
	return nil
}

// simControl serves the control API over the running simulators.
func simControl(info SimulateInfo, sims map[string]connectors.Simulator) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim", func(w http.ResponseWriter, _ *http.Request) { simkit.WriteJSON(w, http.StatusOK, "", info) })
	// For `scimbridge healthcheck --server CONTROL` (compose's healthcheck).
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ready\n")) })
	mux.HandleFunc("GET /_sim/{type}/state", func(w http.ResponseWriter, r *http.Request) {
		st, ok := simState(sims[r.PathValue("type")])
		if !ok {
			http.Error(w, "no simulator with state for "+r.PathValue("type"), http.StatusNotFound)
			return
		}
		simkit.WriteJSON(w, http.StatusOK, "", st)
	})
	mux.HandleFunc("POST /_sim/{type}/fail", func(w http.ResponseWriter, r *http.Request) {
		faults := map[string]simkit.Fault{
			"429": simkit.Fault429, "429-retry-after": simkit.Fault429RetryAfter,
			"5xx": simkit.Fault5xx, "permanent": simkit.FaultPermanent,
		}
		fault, ok := faults[r.URL.Query().Get("fault")]
		n, err := strconv.Atoi(r.URL.Query().Get("n"))
		if !ok || err != nil || n < 0 {
			http.Error(w, "want fault=429|429-retry-after|5xx|permanent and n=N", http.StatusBadRequest)
			return
		}
		switch s := sims[r.PathValue("type")].(type) {
		case simkit.Sim:
			s.FailNext(fault, n)
		case *testconn.Sim:
			s.Target.FailNext(fault, n)
		default:
			http.Error(w, "no fault injection for "+r.PathValue("type"), http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func simState(sim connectors.Simulator) (SimState, bool) {
	switch s := sim.(type) {
	case simkit.Sim:
		return SimState{Users: s.Users(), Groups: s.Groups(), Calls: s.Calls()}, true
	case *testconn.Sim:
		st := SimState{Calls: s.Stats().Calls}
		for _, u := range s.Target.Users() {
			st.Users = append(st.Users, simkit.SimUser{TargetID: u.TargetID, UserName: u.UserName, Active: u.Active})
		}
		for _, g := range s.Target.Groups() {
			st.Groups = append(st.Groups, simkit.SimGroup{TargetID: g.TargetID, Name: g.Name, MemberTargetIDs: g.Members})
		}
		return st, true
	}
	return SimState{}, false
}

// advertised is addr with its host replaced by host, if set.
func advertised(addr net.Addr, host string) string {
	if host == "" {
		return addr.String()
	}
	_, port, _ := net.SplitHostPort(addr.String())
	return net.JoinHostPort(host, port)
}

// writeSimFiles writes dir/TYPE/base_url and dir/TYPE/KEY for every
// credential, so a bridge in another container can name them as
// ${file:dir/TYPE/KEY} (docker compose: deploy/compose.yaml).
func writeSimFiles(dir string, info SimulateInfo) error {
	for typ, s := range info.Simulators {
		d := filepath.Join(dir, typ)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		files := maps.Clone(s.Credentials)
		files["base_url"] = s.BaseURL
		for k, v := range files {
			// Readable by the bridge's user in the other container: these
			// are simulator credentials, not secrets.
			if err := os.WriteFile(filepath.Join(d, k), []byte(v+"\n"), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}
