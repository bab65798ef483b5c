package crash

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/scimbridge/scimbridge/test/e2ekit"
)

// The scimbridge binary, built once for every test of the package.
var built struct {
	once sync.Once
	dir  string
	bin  string
	err  error
	out  []byte
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// binary builds ./cmd/scimbridge (once) and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "scimbridge-crash-"); built.err != nil {
			return
		}
		built.bin = filepath.Join(built.dir, "scimbridge")
		build := exec.Command("go", "build", "-o", built.bin, "./cmd/scimbridge")
		build.Dir = e2ekit.ModuleRoot(t)
		built.out, built.err = build.CombinedOutput()
	})
	if built.err != nil {
		t.Fatalf("go build: %v\n%s", built.err, built.out)
	}
	return built.bin
}
