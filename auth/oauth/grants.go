package oauth

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"
	"time"
)

// GrantFile keeps refresh token chains in the data directory (mode
// 0600). Tokens are stored as SHA-256 sums, never as issued. It is a
// small file of its own rather than a bucket of the store, so the
// authorization server does not depend on the store's transaction API.
const GrantFile = "oauth-grants.json"

// grants are the refresh token chains ("families", one per authorization)
// and revoked access tokens.
type grants struct {
	mu   sync.Mutex
	path string
	d    grantData
	// grace holds, for a refresh token rotated out moments ago, the pair
	// it was exchanged for, so a client retrying a lost answer gets the
	// same pair. Memory only: after a restart a retry revokes the chain.
	grace map[string]graceAnswer
}

type grantData struct {
	Families   map[string]*family     `json:"families"`
	Tokens     map[string]*refreshRec `json:"tokens"`      // by hex SHA-256 of the refresh token
	RevokedJTI map[string]time.Time   `json:"revoked_jti"` // access token id -> its expiry
}

type family struct {
	ClientID string     `json:"client_id"`
	SFP      string     `json:"sfp"` // the client secret it was last used with
	Scope    string     `json:"scope,omitempty"`
	Created  time.Time  `json:"created"`
	Used     time.Time  `json:"used"`
	Revoked  *time.Time `json:"revoked,omitempty"`
}

type refreshRec struct {
	Family  string     `json:"family"`
	Rotated *time.Time `json:"rotated,omitempty"` // nil: the chain's current token
}

type graceAnswer struct {
	resp  tokenResponse
	until time.Time
}

func hashToken(t string) string {
	s := sha256.Sum256([]byte("scimbridge refresh\x00" + t))
	return hex.EncodeToString(s[:])
}

func openGrants(path string) (*grants, error) {
	g := &grants{path: path, grace: map[string]graceAnswer{}}
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err == nil {
		if err := json.Unmarshal(data, &g.d); err != nil {
			return nil, fmt.Errorf("oauth grants %s: %w", path, err)
		}
	}
	if g.d.Families == nil {
		g.d.Families = map[string]*family{}
	}
	if g.d.Tokens == nil {
		g.d.Tokens = map[string]*refreshRec{}
	}
	if g.d.RevokedJTI == nil {
		g.d.RevokedJTI = map[string]time.Time{}
	}
	return g, nil
}

// save prunes what can no longer matter and writes the file; g.mu held.
func (g *grants) save(now time.Time, refreshTTL, keepRevoked time.Duration) error {
	for id, f := range g.d.Families {
		if (f.Revoked != nil && now.Sub(*f.Revoked) > keepRevoked) || (f.Revoked == nil && now.Sub(f.Used) > refreshTTL) {
			delete(g.d.Families, id)
		}
	}
	for h, t := range g.d.Tokens {
		if g.d.Families[t.Family] == nil {
			delete(g.d.Tokens, h)
		}
	}
	for j, exp := range g.d.RevokedJTI {
		if now.After(exp) {
			delete(g.d.RevokedJTI, j)
		}
	}
	for h, a := range g.grace {
		if now.After(a.until) {
			delete(g.grace, h)
		}
	}
	data, err := json.Marshal(&g.d)
	if err != nil {
		return err
	}
	return writeFileAtomic(g.path, data)
}

func (g *grants) familyRevoked(id string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.d.Families[id]
	return f == nil || f.Revoked != nil
}

func (g *grants) jtiRevoked(jti string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.d.RevokedJTI[jti]
	return ok
}
