// Package oauth is scimbridge's OAuth 2.0 authorization server for SCIM
// clients configured with oauth: (RFC 6749, RFC 8414 metadata, RFC 7009
// revocation, RFC 7636 PKCE). It issues short-lived JWT access tokens
// (EdDSA, Ed25519 keys kept in the data directory) for the client
// credentials grant (Entra ID's gallery apps) and the authorization code
// grant with rotating refresh tokens (Okta's OAuth 2 mode); package auth
// accepts them on /scim/v2 through Server.VerifyAccessToken.
package oauth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/rs/zerolog"

	"github.com/scimbridge/scimbridge/auth"
)

// Options configure the server.
type Options struct {
	// Issuer is external_url: the issuer identifier (RFC 8414 §2) and the
	// base of the SCIM audience (Issuer + "/scim/v2").
	Issuer string
	// DataDir holds the key and grant files.
	DataDir string
	// AdminToken signs the operator in on the consent page.
	AdminToken string
	Log        zerolog.Logger
	// RefreshTTL: a refresh token chain unused this long expires (default 90 days).
	RefreshTTL time.Duration
	// ReuseGrace: a rotated-out refresh token presented again within it
	// gets the same new pair; later, it revokes the chain (default 60 s).
	ReuseGrace time.Duration
	Now        func() time.Time
}

// Server is the authorization server.
type Server struct {
	opts   Options
	reg    *auth.Registry
	keys   atomic.Pointer[keySet]
	grants *grants

	refreshMu sync.Mutex
	mu        sync.Mutex
	codes     map[string]*authCode // by hash of the code
	pending   map[string]*pendingAuth
}

// SigningAlgorithm names the JWS algorithm of the access tokens.
const SigningAlgorithm = "EdDSA"

// New loads (or creates) the signing keys and the grant file in
// opts.DataDir and registers the server as reg's access token verifier.
func New(reg *auth.Registry, opts Options) (*Server, error) {
	if opts.Issuer == "" {
		return nil, errors.New("oauth: external_url must be set: it is the issuer and the access tokens' audience")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefreshTTL <= 0 {
		opts.RefreshTTL = 90 * 24 * time.Hour
	}
	if opts.ReuseGrace <= 0 {
		opts.ReuseGrace = 60 * time.Second
	}
	s := &Server{opts: opts, reg: reg, codes: map[string]*authCode{}, pending: map[string]*pendingAuth{}}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	g, err := openGrants(filepath.Join(opts.DataDir, GrantFile))
	if err != nil {
		return nil, err
	}
	s.grants = g
	reg.SetAccessTokens(s)
	return s, nil
}

// Reload re-reads the signing keys (after scimbridge oauth-rotate-key).
func (s *Server) Reload() error {
	ks, err := loadKeys(filepath.Join(s.opts.DataDir, KeyFile), s.opts.Now())
	if err != nil {
		return err
	}
	s.keys.Store(ks)
	return nil
}

// Audience is the "aud" of every access token.
func (s *Server) Audience() string { return s.opts.Issuer + "/scim/v2" }

// MetadataURL is where the RFC 8414 metadata is served.
func (s *Server) MetadataURL() string { return s.opts.Issuer + MetadataPath }

// Paths served by Handler.
const (
	MetadataPath  = "/.well-known/oauth-authorization-server"
	TokenPath     = "/oauth/token"
	AuthorizePath = "/oauth/authorize"
	RevokePath    = "/oauth/revoke"
)

// Handler serves the endpoints at their full paths.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+MetadataPath, s.metadata)
	mux.HandleFunc("POST "+TokenPath, s.token)
	mux.HandleFunc("GET "+AuthorizePath, s.authorize)
	mux.HandleFunc("POST "+AuthorizePath, s.consent)
	mux.HandleFunc("POST "+RevokePath, s.revoke)
	return mux
}

func (s *Server) metadata(w http.ResponseWriter, _ *http.Request) {
	iss := s.opts.Issuer
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + AuthorizePath,
		"token_endpoint":                                 iss + TokenPath,
		"revocation_endpoint":                            iss + RevokePath,
		"grant_types_supported":                          []string{"client_credentials", "authorization_code", "refresh_token"},
		"response_types_supported":                       []string{"code"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":               []string{"S256"},
		"scopes_supported":                               []string{"scim", "offline_access"},
		"authorization_response_iss_parameter_supported": true,
	})
}

// claims of an access token (RFC 9068 profile).
type claims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Client   string `json:"client"` // the scim.clients name
	SFP      string `json:"sfp"`    // which client secret it was issued under (keyed hash)
	Family   string `json:"fam,omitempty"`
	Scope    string `json:"scope,omitempty"`
}

// sfp is a keyed fingerprint of a client secret's fingerprint: it tells
// which configured secret a token belongs to without revealing anything
// about the secret.
func (s *Server) sfp(fp [32]byte) string {
	m := hmac.New(sha256.New, s.keys.Load().fpKey)
	m.Write(fp[:])
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

func randomString(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// issue signs an access token.
func (s *Server) issue(c auth.OAuthClient, fp [32]byte, family, scope string) (string, time.Time, error) {
	ks := s.keys.Load()
	now := s.opts.Now()
	exp := now.Add(c.TTL)
	cl := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    s.opts.Issuer,
			Subject:   c.ClientID,
			Audience:  jwt.ClaimStrings{s.Audience()},
			ExpiresAt: jwt.NewNumericDate(exp),
			IssuedAt:  jwt.NewNumericDate(now),
			ID:        randomString(12),
		},
		ClientID: c.ClientID, Client: c.Name, SFP: s.sfp(fp), Family: family, Scope: scope,
	}
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, cl)
	t.Header["kid"] = ks.kid
	t.Header["typ"] = "at+jwt"
	signed, err := t.SignedString(ks.active)
	return signed, exp, err
}

var errToken = errors.New("invalid access token")

// VerifyAccessToken checks signature, issuer, audience and expiry, that
// the client is still configured with the secret the token was issued
// under, and that neither the token nor its chain was revoked.
func (s *Server) VerifyAccessToken(token string) (string, time.Time, error) {
	cl, err := s.parse(token, true)
	if err != nil {
		return "", time.Time{}, err
	}
	name, fps := s.reg.SecretFingerprints(cl.ClientID)
	if name == "" || name != cl.Client {
		return "", time.Time{}, errToken
	}
	current := false
	for _, fp := range fps {
		if hmac.Equal([]byte(s.sfp(fp)), []byte(cl.SFP)) {
			current = true
		}
	}
	if !current || s.grants.jtiRevoked(cl.ID) || (cl.Family != "" && s.grants.familyRevoked(cl.Family)) {
		return "", time.Time{}, errToken
	}
	return name, cl.ExpiresAt.Time, nil
}

func (s *Server) parse(token string, validate bool) (*claims, error) {
	ks := s.keys.Load()
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{SigningAlgorithm}),
		jwt.WithIssuer(s.opts.Issuer),
		jwt.WithAudience(s.Audience()),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.opts.Now),
	}
	if !validate {
		opts = append(opts, jwt.WithoutClaimsValidation())
	}
	var cl claims
	t, err := jwt.ParseWithClaims(token, &cl, func(t *jwt.Token) (any, error) {
		if typ, _ := t.Header["typ"].(string); typ != "at+jwt" {
			return nil, errToken
		}
		kid, _ := t.Header["kid"].(string)
		if k, ok := ks.public[kid]; ok {
			return k, nil
		}
		return nil, errToken
	}, opts...)
	if err != nil || !t.Valid || cl.ClientID == "" || cl.ExpiresAt == nil {
		return nil, errToken
	}
	return &cl, nil
}

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// oauthError is RFC 6749 §5.2.
type oauthError struct {
	status     int
	code       string
	desc       string
	retryAfter string // for 429
}

func (e *oauthError) Error() string { return e.code + ": " + e.desc }

func badRequest(code, desc string) *oauthError {
	return &oauthError{status: http.StatusBadRequest, code: code, desc: desc}
}

func writeOAuthError(w http.ResponseWriter, e *oauthError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="scimbridge oauth"`)
	}
	if e.retryAfter != "" {
		w.Header().Set("Retry-After", e.retryAfter)
	}
	writeJSON(w, e.status, map[string]string{"error": e.code, "error_description": e.desc})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) logger(r *http.Request) *zerolog.Logger {
	l := zerolog.Ctx(r.Context())
	if l.GetLevel() == zerolog.Disabled {
		return &s.opts.Log
	}
	return l
}

func fmtDuration(d time.Duration) int64 { return int64(d / time.Second) }

func sha(s string) [32]byte { return sha256.Sum256([]byte(s)) }
