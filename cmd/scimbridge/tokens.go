package main

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ensureToken returns the configured tokens, or, when none is configured,
// the token kept in dataDir/file, generating it on first start. A new
// token is printed once to w (never to the log), so the server never runs
// open or with a well-known default.
func ensureToken(configured []string, dataDir, file, what string, w io.Writer) ([]string, error) {
	if len(configured) > 0 {
		return configured, nil
	}
	path := filepath.Join(dataDir, file)
	data, err := os.ReadFile(path)
	if err == nil {
		if tok := strings.TrimSpace(string(data)); tok != "" {
			return []string{tok}, nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", what, err)
	}
	tok, err := newToken()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("keep generated %s: %w", what, err)
	}
	// WriteFile keeps the mode of a file that was already there (empty).
	if err := os.Chmod(path, 0o600); err != nil {
		return nil, fmt.Errorf("keep generated %s: %w", what, err)
	}
	fmt.Fprintf(w, "No %s configured: generated one and kept it in %s (shown only this once):\n\n    %s\n\n", what, path, tok)
	return []string{tok}, nil
}

func newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
