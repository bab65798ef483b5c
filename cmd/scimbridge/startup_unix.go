//go:build unix

package main

import (
	"errors"
	"os"
	"syscall"
)

// locked says whether another open file holds f's flock (bbolt's lock).
// The probe's own lock goes with f's close.
func locked(f *os.File) bool {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false
	}
	return errors.Is(err, syscall.EWOULDBLOCK)
}
