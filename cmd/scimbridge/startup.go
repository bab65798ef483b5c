package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"

	"github.com/scimbridge/scimbridge/config"
	"github.com/scimbridge/scimbridge/store"
)

// Exit codes: each start-up failure an operator must fix has its own, so
// a supervisor (systemd, Kubernetes) and a script can tell them apart.
// docs/guides/troubleshooting.md lists them.
const (
	exitFailure   = 1 // anything else
	exitConfig    = 2 // config.yaml missing (when named), unparsable or invalid
	exitListen    = 3 // the listen address is in use or not allowed
	exitLocked    = 4 // another process holds the data file
	exitDataFile  = 5 // the data file or directory cannot be read or written, or is damaged
	exitTLS       = 6 // the TLS certificate or key cannot be loaded
	exitNewerData = 7 // the data file was written by a newer scimbridge
)

// startupError is a failure to start, said in one line with what to do.
type startupError struct {
	code int
	msg  string
	err  error
}

func (e *startupError) Error() string { return e.msg }
func (e *startupError) Unwrap() error { return e.err }

// explain turns a command's error into its exit code and one line.
func explain(err error) (int, string) {
	var se *startupError
	if errors.As(err, &se) {
		return se.code, se.msg
	}
	return exitFailure, oneLine(err.Error())
}

// yamlSource matches the lines of a YAML error that quote the file
// ("   2 | key: x", ">  2 | ...", "    ^"): check-config shows them.
var yamlSource = regexp.MustCompile(`^\s*(>?\s*\d+ \||\^\s*$)`)

// oneLine joins an error's lines, leaving out quoted YAML source.
func oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == "" || yamlSource.MatchString(l) {
			continue
		}
		parts = append(parts, strings.TrimSpace(l))
	}
	return strings.Join(parts, "; ")
}

func configFailure(path string, err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return &startupError{code: exitConfig, err: err,
			msg: fmt.Sprintf("config file %s does not exist: create it, or leave out --config and %s to run from the environment alone", path, envConfig)}
	}
	return &startupError{code: exitConfig, err: err,
		msg: fmt.Sprintf("%s: fix the file or the environment variable it names (scimbridge check-config --config %s shows where)", oneLine(err.Error()), path)}
}

// listen opens the server's port, saying what to do when it cannot.
func listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	switch {
	case err == nil:
		return ln, nil
	case errors.Is(err, syscall.EADDRINUSE):
		return nil, &startupError{code: exitListen, err: err,
			msg: fmt.Sprintf("listen %s: the port is already in use (another scimbridge?): stop that process or set listen / %s to a free address", addr, config.EnvListen)}
	case errors.Is(err, syscall.EACCES):
		return nil, &startupError{code: exitListen, err: err,
			msg: fmt.Sprintf("listen %s: permission denied (ports below 1024 need CAP_NET_BIND_SERVICE): listen on 8080 and map the port, or grant the capability", addr)}
	default:
		return nil, &startupError{code: exitListen, err: err,
			msg: fmt.Sprintf("listen %s: %v: set listen / %s to host:port on this machine", addr, err, config.EnvListen)}
	}
}

// loadTLS loads the serving certificate, saying what to do when it cannot.
func loadTLS(c config.TLS) (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
	if err != nil {
		return nil, &startupError{code: exitTLS, err: err,
			msg: fmt.Sprintf("tls: cannot load cert_file %s and key_file %s: %v: fix the paths in config.yaml or make the files readable by scimbridge", c.CertFile, c.KeyFile, err)}
	}
	return &cert, nil
}

// dataDirFailure explains a data directory scimbridge cannot use.
func dataDirFailure(dir string, err error) error {
	return &startupError{code: exitDataFile, err: err,
		msg: fmt.Sprintf("data directory %s: %v: make it writable by the user scimbridge runs as (uid %d), or set data_dir / %s", dir, err, os.Geteuid(), config.EnvDataDir)}
}

// openStore opens the data file, first checking (without waiting) that
// no other process holds it, and explains every way that fails.
func openStore(path string) (*store.DB, error) {
	if err := probeDataFile(path); err != nil {
		return nil, err
	}
	db, err := store.Open(path)
	if err == nil {
		return db, nil
	}
	return nil, dataFileFailure(path, err)
}

func dataFileFailure(path string, err error) error {
	switch {
	case errors.Is(err, store.ErrLocked):
		return lockedFailure(path, err)
	case errors.Is(err, fs.ErrPermission):
		return &startupError{code: exitDataFile, err: err,
			msg: fmt.Sprintf("data file %s: permission denied: make it readable and writable by the user scimbridge runs as (uid %d)", path, os.Geteuid())}
	case errors.Is(err, store.ErrForeignLog):
		return &startupError{code: exitDataFile, err: err,
			msg: fmt.Sprintf("data file %s: %v: the file was put in place while a crash's log was left; the file is unchanged: move %s.wal aside (docs/guides/operations.md, Restore) and start again", path, rootCause(err), path)}
	case errors.Is(err, store.ErrCorrupt),
		strings.Contains(err.Error(), "file size too small"), strings.Contains(err.Error(), "schemaVersion"):
		return &startupError{code: exitDataFile, err: err,
			msg: fmt.Sprintf("data file %s is damaged or not a scimbridge data file (%v): restore the latest backup (docs/guides/operations.md, Restore) or move the file away to start empty", path, rootCause(err))}
	case strings.Contains(err.Error(), "layout version"):
		return &startupError{code: exitNewerData, err: err,
			msg: fmt.Sprintf("data file %s was written by a newer scimbridge (%v): run that release again, or restore the backup taken before the upgrade (docs/guides/operations.md, Roll back)", path, rootCause(err))}
	}
	return &startupError{code: exitDataFile, err: err,
		msg: fmt.Sprintf("data file %s: %v: check the file and its directory, or restore the latest backup", path, rootCause(err))}
}

// offlineOpenFailure explains why an offline command (verify --file,
// compact, plan) could not open the data file: a damaged file as the
// server says it (exit 5), anything else with the command's hint (most
// often a running server holding the lock).
func offlineOpenFailure(path, hint string, err error) error {
	if errors.Is(err, store.ErrCorrupt) {
		return dataFileFailure(path, err)
	}
	return fmt.Errorf("open %s (%s): %w", path, hint, err)
}

func lockedFailure(path string, err error) error {
	return &startupError{code: exitLocked, err: err,
		msg: fmt.Sprintf("data file %s is locked by another process (another scimbridge on the same data_dir?): stop it, or give this one its own data_dir", path)}
}

// rootCause is the innermost error's text: the wrapping names the path,
// which the message already does.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}

// probeDataFile opens an existing data file and tries its lock without
// blocking: bbolt would otherwise wait its whole timeout and then say only
// "timeout". A file that is not there yet is fine (Open creates it).
func probeDataFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, fs.ErrNotExist) {
		if st, err := os.Stat(filepath.Dir(path)); err == nil && !st.IsDir() {
			return dataDirFailure(filepath.Dir(path), errors.New("not a directory"))
		}
		return nil
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && errors.Is(err, syscall.EISDIR) {
			return &startupError{code: exitDataFile, err: err,
				msg: fmt.Sprintf("data file %s is a directory: move it away; scimbridge keeps its data in a file of that name", path)}
		}
		return dataFileFailure(path, err)
	}
	defer f.Close()
	if locked(f) {
		return lockedFailure(path, errors.New("locked"))
	}
	return nil
}
