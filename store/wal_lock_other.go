//go:build !unix

package store

import (
	"os"
	"time"
)

// lockData: without flock, recovery relies on bbolt's own lock taken
// right after it (the window between is the price on these systems).
func lockData(f *os.File, timeout time.Duration) error { return nil }

func unlockData(f *os.File) {}
