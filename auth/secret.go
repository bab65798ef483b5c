package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// A secret as config.yaml gives it: a literal value, an argon2id PHC hash
// ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") or a bcrypt hash
// ("$2a$", "$2b$", "$2y$").
type secret struct {
	kind   secretKind
	sum    [32]byte // literal: SHA-256 of the value
	bcrypt []byte
	argon  *argonHash
	// fp identifies the secret (not its value) to tell whether a token
	// issued with it is still backed by configuration after a reload.
	fp [32]byte
}

type secretKind int

const (
	literalSecret secretKind = iota
	bcryptSecret
	argonSecret
)

type argonHash struct {
	memory  uint32 // KiB
	time    uint32
	threads uint8
	salt    []byte
	hash    []byte
}

// Limits on hash parameters accepted from config, so one verification
// cannot take more than maxArgonMemory KiB or an unbounded time.
const (
	maxArgonMemory = 256 << 10
	maxArgonTime   = 10
	maxBcryptCost  = 14
)

// IsHash reports whether s is written as a hash this package verifies.
func IsHash(s string) bool {
	return strings.HasPrefix(s, "$argon2id$") || strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

func parseSecret(s string) (secret, error) {
	out := secret{fp: sha256.Sum256([]byte("scimbridge secret\x00" + s))}
	switch {
	case strings.HasPrefix(s, "$argon2id$"):
		h, err := parseArgon(s)
		if err != nil {
			return out, err
		}
		out.kind, out.argon = argonSecret, h
	case IsHash(s):
		cost, err := bcrypt.Cost([]byte(s))
		if err != nil {
			return out, fmt.Errorf("bcrypt hash: %w", err)
		}
		if cost > maxBcryptCost {
			return out, fmt.Errorf("bcrypt cost %d is above %d", cost, maxBcryptCost)
		}
		out.kind, out.bcrypt = bcryptSecret, []byte(s)
	default:
		if s == "" {
			return out, errors.New("empty secret")
		}
		out.kind, out.sum = literalSecret, sha256.Sum256([]byte(s))
	}
	return out, nil
}

func parseArgon(s string) (*argonHash, error) {
	// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[2] != "v=19" {
		return nil, errors.New("argon2id hash: want $argon2id$v=19$m=..,t=..,p=..$salt$hash")
	}
	h := &argonHash{}
	var threads uint32
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.time, &threads); err != nil {
		return nil, fmt.Errorf("argon2id hash parameters: %w", err)
	}
	if h.memory == 0 || h.memory > maxArgonMemory || h.time == 0 || h.time > maxArgonTime || threads == 0 || threads > 16 {
		return nil, fmt.Errorf("argon2id hash parameters m=%d,t=%d,p=%d out of range (m<=%d, t<=%d, p<=16)", h.memory, h.time, threads, maxArgonMemory, maxArgonTime)
	}
	h.threads = uint8(threads)
	var err error
	if h.salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(h.salt) < 8 {
		return nil, errors.New("argon2id hash: bad salt")
	}
	if h.hash, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(h.hash) < 16 {
		return nil, errors.New("argon2id hash: bad hash")
	}
	return h, nil
}

// expensive reports whether verifying costs a hash computation.
func (s *secret) expensive() bool { return s.kind != literalSecret }

// verify compares candidate with the secret; literals in constant time
// over SHA-256 sums (so neither content nor length leaks).
func (s *secret) verify(candidate string) bool {
	switch s.kind {
	case literalSecret:
		got := sha256.Sum256([]byte(candidate))
		return subtle.ConstantTimeCompare(got[:], s.sum[:]) == 1
	case bcryptSecret:
		return bcrypt.CompareHashAndPassword(s.bcrypt, []byte(candidate)) == nil
	case argonSecret:
		a := s.argon
		got := argon2.IDKey([]byte(candidate), a.salt, a.time, a.memory, a.threads, uint32(len(a.hash)))
		return subtle.ConstantTimeCompare(got, a.hash) == 1
	}
	return false
}

// HashSecret returns an argon2id hash of plain in PHC form with the
// OWASP-recommended parameters (19 MiB, 2 passes, 1 thread).
func HashSecret(plain string) (string, error) { return hashArgon(plain, 19456, 2) }

// hashArgon is HashSecret with chosen memory (KiB) and passes (tests use
// cheap ones).
func hashArgon(plain string, m, t uint32) (string, error) {
	if plain == "" {
		return "", errors.New("empty secret")
	}
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	const p = 1
	h := argon2.IDKey([]byte(plain), salt, t, m, p, 32)
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s", m, t, p,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(h)), nil
}
