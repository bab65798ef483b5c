package testkit

import (
	"encoding/binary"
	"os"
	"testing"
)

// DamageLeafPages overwrites the page type of every bbolt leaf page past
// the two meta pages of the data file at path (4 KiB pages), in place, so
// a test can see what meets a damaged file; the file may be open (a
// running store sees the change through its mapping). It returns how many
// pages it damaged and fails the test if there were none.
func DamageLeafPages(t testing.TB, path string) int {
	t.Helper()
	const pageSize = 4096
	const leafPage, notAType = 0x02, 0x40
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	var flags [2]byte
	damaged := 0
	for off := int64(2 * pageSize); off+pageSize <= st.Size(); off += pageSize {
		if _, err := f.ReadAt(flags[:], off+8); err != nil {
			t.Fatal(err)
		}
		if binary.LittleEndian.Uint16(flags[:]) != leafPage {
			continue
		}
		binary.LittleEndian.PutUint16(flags[:], notAType)
		if _, err := f.WriteAt(flags[:], off+8); err != nil {
			t.Fatal(err)
		}
		damaged++
	}
	if damaged == 0 {
		t.Fatalf("%s: no leaf page to damage", path)
	}
	return damaged
}
