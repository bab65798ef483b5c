package oauth

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/scimbridge/scimbridge/auth"
)

// KeyFile is the signing key file in the data directory (mode 0600).
const KeyFile = "oauth-keys.json"

// keyFile holds the Ed25519 signing keys, newest last, and the key that
// fingerprints client secrets inside tokens.
type keyFile struct {
	Keys  []signingKey `json:"keys"`
	FPKey []byte       `json:"fp_key"`
}

type signingKey struct {
	ID      string     `json:"kid"`
	Created time.Time  `json:"created"`
	Seed    []byte     `json:"seed"`
	Retired *time.Time `json:"retired,omitempty"`
}

type keySet struct {
	active ed25519.PrivateKey
	kid    string
	public map[string]ed25519.PublicKey
	fpKey  []byte
}

// loadKeys reads path, creating it with a fresh key on first start.
func loadKeys(path string, now time.Time) (*keySet, error) {
	kf, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kf = &keyFile{}
		if err := kf.rotate(now); err != nil {
			return nil, err
		}
		if err := writeKeyFile(path, kf); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	return kf.set(now)
}

// RotateKey adds a new signing key to the file in dataDir; the server
// signs with it after its next reload. The previous key keeps verifying
// until every token it signed has expired (6 h, the longest lifetime).
func RotateKey(dataDir string, now time.Time) (kid string, err error) {
	path := filepath.Join(dataDir, KeyFile)
	kf, err := readKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		kf = &keyFile{}
	} else if err != nil {
		return "", err
	}
	if err := kf.rotate(now); err != nil {
		return "", err
	}
	if err := writeKeyFile(path, kf); err != nil {
		return "", err
	}
	return kf.Keys[len(kf.Keys)-1].ID, nil
}

func (kf *keyFile) rotate(now time.Time) error {
	seed := make([]byte, ed25519.SeedSize)
	id := make([]byte, 9)
	if _, err := rand.Read(seed); err != nil {
		return err
	}
	if _, err := rand.Read(id); err != nil {
		return err
	}
	if len(kf.FPKey) == 0 {
		kf.FPKey = make([]byte, 32)
		if _, err := rand.Read(kf.FPKey); err != nil {
			return err
		}
	}
	var kept []signingKey
	for _, k := range kf.Keys {
		if k.Retired == nil {
			t := now
			k.Retired = &t
		}
		if now.Sub(*k.Retired) < auth.MaxAccessTokenTTL+time.Minute {
			kept = append(kept, k)
		}
	}
	kf.Keys = append(kept, signingKey{ID: base64.RawURLEncoding.EncodeToString(id), Created: now, Seed: seed})
	return nil
}

func (kf *keyFile) set(now time.Time) (*keySet, error) {
	if len(kf.FPKey) < 16 {
		return nil, errors.New("oauth key file: fp_key missing")
	}
	ks := &keySet{public: map[string]ed25519.PublicKey{}, fpKey: kf.FPKey}
	for _, k := range kf.Keys {
		if len(k.Seed) != ed25519.SeedSize || k.ID == "" {
			return nil, fmt.Errorf("oauth key file: key %q is malformed", k.ID)
		}
		priv := ed25519.NewKeyFromSeed(k.Seed)
		if k.Retired == nil {
			ks.active, ks.kid = priv, k.ID
		} else if now.Sub(*k.Retired) >= auth.MaxAccessTokenTTL+time.Minute {
			continue // every token it signed has expired
		}
		ks.public[k.ID] = priv.Public().(ed25519.PublicKey)
	}
	if ks.active == nil {
		return nil, errors.New("oauth key file: no active key")
	}
	return ks, nil
}

func readKeyFile(path string) (*keyFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var kf keyFile
	if err := json.Unmarshal(data, &kf); err != nil {
		return nil, fmt.Errorf("oauth key file %s: %w", path, err)
	}
	return &kf, nil
}

// writeKeyFile replaces path atomically with a 0600 file.
func writeKeyFile(path string, kf *keyFile) error {
	data, err := json.MarshalIndent(kf, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
