package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/scimbridge/scimbridge/store"
)

func init() {
	rootCmd.AddCommand(&cobra.Command{
		Use:   "compact",
		Short: "Shrink the data file offline (stop the server first): bbolt reuses freed pages but never returns them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig()
			if err != nil {
				return err
			}
			return compact(filepath.Join(cfg.DataDir, dbFile), cmd.OutOrStdout())
		},
	})
}

// compact copies the live data into a fresh file and swaps it in. It opens
// the source with a short timeout, so it refuses to run beside a server
// that holds the file's lock.
func compact(path string, out interface{ Write([]byte) (int, error) }) error {
	src, err := store.OpenReadOnly(path, time.Second)
	if err != nil {
		return offlineOpenFailure(path, "is the server still running?", err)
	}
	defer src.Close()
	tmp := path + ".compact"
	_ = os.Remove(tmp)
	if err := src.CompactTo(tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("compact: %w", err)
	}
	before, _ := os.Stat(path)
	after, _ := os.Stat(tmp)
	src.Close()
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	fmt.Fprintf(out, "compacted %s: %d -> %d bytes\n", path, before.Size(), after.Size())
	return nil
}
