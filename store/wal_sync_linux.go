package store

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (and the size, when it grew), as bbolt does
// on Linux: the timestamps are not worth a second write.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
