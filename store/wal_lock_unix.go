//go:build unix

package store

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockData takes the exclusive lock bbolt takes on the data file (flock),
// waiting up to timeout, so recovery never writes to a file a running
// server holds.
func lockData(f *os.File, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			return err
		}
		if time.Now().After(deadline) {
			return errLocked
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func unlockData(f *os.File) { syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
