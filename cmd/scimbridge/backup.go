package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/store"
)

// backupWriteTimeout bounds how long a client may take to download a
// backup (the server's write_timeout is for SCIM answers, far shorter).
const backupWriteTimeout = time.Hour

// backups serves GET /admin/backup: a hot copy of the data file.
type backups struct {
	db      *store.DB
	log     zerolog.Logger
	running sync.Mutex
	last    prometheus.Gauge
	size    prometheus.Gauge
}

func newBackups(db *store.DB, reg prometheus.Registerer, log zerolog.Logger) *backups {
	b := &backups{db: db, log: log,
		last: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimbridge_backup_last_success_timestamp_seconds",
			Help: "When the last backup was streamed completely (Unix time; 0: none since start).",
		}),
		size: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "scimbridge_backup_last_size_bytes",
			Help: "Size of the last complete backup.",
		}),
	}
	reg.MustRegister(b.last, b.size)
	return b
}

// serveHTTP snapshots the data file into an unlinked temporary file next
// to it (one read transaction, at disk speed) and then streams that file,
// so a slow client never holds a read transaction (which would keep
// bbolt from reusing the pages writers free meanwhile).
func (b *backups) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if !b.running.TryLock() {
		writeAdminError(w, http.StatusConflict, "a backup is already running")
		return
	}
	defer b.running.Unlock()
	log := zerolog.Ctx(r.Context())
	f, err := os.CreateTemp(filepath.Dir(b.db.Path()), ".backup-*.tmp")
	if err != nil {
		writeAdminError(w, http.StatusInternalServerError, "backup: "+err.Error())
		return
	}
	// Unlinked at once: a crash mid-backup leaves nothing behind.
	_ = os.Remove(f.Name())
	defer f.Close()
	start := time.Now()
	n, err := b.db.WriteTo(f)
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		log.Error().Err(err).Msg("backup snapshot failed")
		writeAdminError(w, http.StatusInternalServerError, "backup: "+err.Error())
		return
	}
	snapshot := time.Since(start)
	if err := http.NewResponseController(w).SetWriteDeadline(time.Now().Add(backupWriteTimeout)); err != nil {
		log.Warn().Err(err).Msg("backup: cannot extend the write deadline")
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.Header().Set("Content-Disposition", `attachment; filename="scimbridge-`+start.UTC().Format("20060102T150405Z")+`.db"`)
	w.Header().Set("X-Scimbridge-Layout-Version", strconv.Itoa(store.SchemaVersion))
	copied, err := io.Copy(w, f)
	if err != nil || copied != n {
		log.Warn().Err(err).Int64("bytes", copied).Int64("size", n).Msg("backup: the client did not take the whole file")
		return
	}
	b.last.SetToCurrentTime()
	b.size.Set(float64(n))
	log.Info().Int64("bytes", n).Dur("snapshot", snapshot).Dur("total", time.Since(start)).Msg("backup streamed")
}

// writeAdminError answers like the admin API does.
func writeAdminError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "{\"error\":%s}\n", quote(msg))
}

func init() {
	var f adminFlags
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Download a consistent copy of the running server's data file and verify it",
		Long: `backup asks the running server for a hot copy of its data file (GET /admin/backup:
one read transaction, snapshotted at disk speed, so SCIM writes go on), writes it to
FILE.partial, checks it with the same store.Verify as 'scimbridge verify', and only
then renames it to FILE. The server records the time as
scimbridge_backup_last_success_timestamp_seconds. Restore: docs/guides/operations.md.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := f.client()
			if err != nil {
				return err
			}
			return runBackup(cmd.Context(), c, args[0], cmd.OutOrStdout())
		},
	}
	addAdminFlags(cmd, &f)
	rootCmd.AddCommand(cmd)
}

// runBackup downloads, verifies and keeps a backup at path.
func runBackup(ctx context.Context, c *adminClient, path string, out io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	tmp := path + ".partial"
	n, err := c.download(ctx, "/admin/backup", tmp)
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	version, problems, total, err := store.VerifyFile(tmp, 20)
	if err == nil && total > 0 {
		err = fmt.Errorf("%w: %d problems, first: %q", errInconsistent, total, problems)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("backup failed verification, not kept: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync() // the rename itself survives a crash
		d.Close()
	}
	_, err = fmt.Fprintf(out, "backup written to %s: %d bytes, layout version %d, verified: no problems\n", path, n, version)
	return err
}

// download streams an admin API answer into a new file at path, synced to
// disk. It has no overall timeout (a large file over a slow link); ctx
// ends it.
func (c *adminClient) download(ctx context.Context, apiPath, path string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+apiPath, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	client := *c.http
	client.Timeout = 0
	resp, err := client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return 0, fmt.Errorf("admin API: %s: %s", resp.Status, body)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(f, resp.Body)
	if err == nil && resp.ContentLength >= 0 && n != resp.ContentLength {
		err = fmt.Errorf("backup cut short: %d of %d bytes", n, resp.ContentLength)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}
