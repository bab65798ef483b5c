package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/scimbridge/scimbridge/store"
)

// Each start-up failure an operator must fix says so in one line on
// stderr, with its own exit code.
func TestStartupFailures(t *testing.T) {
	type setup func(t *testing.T, dir string) (config string)
	base := func(dir string, extra string) string {
		return fmt.Sprintf("listen: 127.0.0.1:0\ndata_dir: %s\ntokens: [t]\nadmin_token: a\nlog: {level: fatal}\n%s", filepath.Join(dir, "data"), extra)
	}
	dbPath := func(dir string) string {
		p := filepath.Join(dir, "data", dbFile)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name  string
		setup setup
		code  int
		want  string
	}{
		{"wrong config key", func(t *testing.T, dir string) string {
			return base(dir, "lisen: 127.0.0.1:1\n")
		}, exitConfig, `unknown field "lisen": fix the file`},
		{"named config file missing", func(t *testing.T, dir string) string {
			return "" // no file written
		}, exitConfig, "does not exist: create it, or leave out --config"},
		{"port in use", func(t *testing.T, dir string) string {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { ln.Close() })
			return strings.Replace(base(dir, ""), "127.0.0.1:0", ln.Addr().String(), 1)
		}, exitListen, "the port is already in use (another scimbridge?): stop that process or set listen / SCIMBRIDGE_LISTEN"},
		{"data file locked by another scimbridge", func(t *testing.T, dir string) string {
			db, err := bolt.Open(dbPath(dir), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return base(dir, "")
		}, exitLocked, "is locked by another process (another scimbridge on the same data_dir?): stop it"},
		{"corrupt data file", func(t *testing.T, dir string) string {
			if err := os.WriteFile(dbPath(dir), bytes.Repeat([]byte("not bbolt"), 8000), 0o600); err != nil {
				t.Fatal(err)
			}
			return base(dir, "")
		}, exitDataFile, "is damaged or not a scimbridge data file (invalid database): restore the latest backup"},
		{"truncated data file", func(t *testing.T, dir string) string {
			if err := os.WriteFile(dbPath(dir), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			return base(dir, "")
		}, exitDataFile, "is damaged or not a scimbridge data file"},
		{"a crash's log left beside a restored file", func(t *testing.T, dir string) string {
			// The log of another file's run (copied while it ran, as a
			// kill leaves it), next to a file that stopped cleanly.
			other := filepath.Join(t.TempDir(), dbFile)
			a, err := store.Open(other)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			b, err := store.Open(dbPath(dir))
			if err != nil {
				t.Fatal(err)
			}
			b.Close()
			entries, err := os.ReadDir(other + ".wal")
			if err != nil || len(entries) == 0 {
				t.Fatalf("no log to copy: %v", err)
			}
			os.MkdirAll(dbPath(dir)+".wal", 0o700)
			for _, e := range entries {
				data, err := os.ReadFile(filepath.Join(other+".wal", e.Name()))
				if err != nil {
					t.Fatal(err)
				}
				os.WriteFile(filepath.Join(dbPath(dir)+".wal", e.Name()), data, 0o600)
			}
			return base(dir, "")
		}, exitDataFile, "write-ahead log of another data file: the file was put in place while a crash's log was left; the file is unchanged: move"},
		{"data file is a directory", func(t *testing.T, dir string) string {
			if err := os.MkdirAll(dbPath(dir), 0o700); err != nil {
				t.Fatal(err)
			}
			return base(dir, "")
		}, exitDataFile, "is a directory: move it away"},
		{"data file unreadable", func(t *testing.T, dir string) string {
			if os.Geteuid() == 0 {
				t.Skip("root reads every file")
			}
			db, err := bolt.Open(dbPath(dir), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			db.Close()
			if err := os.Chmod(dbPath(dir), 0); err != nil {
				t.Fatal(err)
			}
			return base(dir, "")
		}, exitDataFile, "permission denied: make it readable and writable"},
		{"data file from a newer release", func(t *testing.T, dir string) string {
			db, err := bolt.Open(dbPath(dir), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(tx *bolt.Tx) error {
				b, err := tx.CreateBucketIfNotExists([]byte("meta"))
				if err != nil {
					return err
				}
				return b.Put([]byte("schemaVersion"), binary.BigEndian.AppendUint64(nil, 99))
			})
			db.Close()
			if err != nil {
				t.Fatal(err)
			}
			return base(dir, "")
		}, exitNewerData, "was written by a newer scimbridge (data file has layout version 99, this build knows only up to " + fmt.Sprint(store.SchemaVersion) + ": run the newer scimbridge): run that release again"},
		{"missing TLS file", func(t *testing.T, dir string) string {
			return base(dir, fmt.Sprintf("tls: {cert_file: %s/cert.pem, key_file: %s/key.pem}\n", dir, dir))
		}, exitTLS, "tls: cannot load cert_file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := filepath.Join(dir, "config.yaml")
			if content := tt.setup(t, dir); content != "" {
				if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var stderr bytes.Buffer
			code := run([]string{"serve", "--config", cfg}, &stderr)
			out := stderr.String()
			if code != tt.code {
				t.Errorf("exit code %d, want %d (%q)", code, tt.code, out)
			}
			if !strings.HasPrefix(out, "scimbridge: ") || strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Errorf("want one line, got %q", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("got  %q\nwant it to contain %q", out, tt.want)
			}
		})
	}
}

// Every exit code is distinct: a script can tell the failures apart.
func TestExitCodesDistinct(t *testing.T) {
	seen := map[int]bool{}
	for _, c := range []int{exitFailure, exitConfig, exitListen, exitLocked, exitDataFile, exitTLS, exitNewerData} {
		if seen[c] || c == 0 {
			t.Errorf("exit code %d used twice or zero", c)
		}
		seen[c] = true
	}
}
