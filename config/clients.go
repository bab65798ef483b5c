package config

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/scimbridge/scimbridge/auth"
)

// literalSecrets names the SCIM secrets written into the file itself
// (no ${...} reference and not a hash); run before expansion.
func literalSecrets(c *Config) []string {
	var keys []string
	check := func(key, v string) {
		if v = strings.TrimSpace(v); v != "" && !strings.Contains(v, "${") && !auth.IsHash(v) {
			keys = append(keys, key)
		}
	}
	for i, t := range c.Tokens {
		check(fmt.Sprintf("tokens[%d]", i), t)
	}
	for i, cl := range c.SCIM.Clients {
		key := fmt.Sprintf("scim.clients[%s]", cl.Name)
		if cl.Name == "" {
			key = fmt.Sprintf("scim.clients[%d]", i)
		}
		for j, b := range cl.Bearer {
			check(fmt.Sprintf("%s.bearer[%d]", key, j), b)
		}
		if cl.Basic != nil {
			check(key+".basic.password", cl.Basic.Password)
		}
		if cl.OAuth != nil {
			for j, s := range cl.OAuth.ClientSecrets {
				check(fmt.Sprintf("%s.oauth.client_secrets[%d]", key, j), s)
			}
		}
	}
	return keys
}

// validateAuth checks scim.clients, that OAuth has its issuer, and
// server.trusted_proxies.
func (c *Config) validateAuth() []error {
	var errs []error
	if err := auth.Validate(c.SCIM.Clients); err != nil {
		errs = append(errs, err)
	}
	if auth.HasOAuth(c.SCIM.Clients) && c.ExternalURL == "" {
		errs = append(errs, errors.New("external_url: required when a SCIM client uses oauth (it is the issuer and the access tokens' audience)"))
	}
	if _, err := c.TrustedProxyPrefixes(); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// TrustedProxyPrefixes parses server.trusted_proxies (addresses or CIDRs).
func (c *Config) TrustedProxyPrefixes() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for i, s := range c.Server.TrustedProxies {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("server.trusted_proxies[%d]: %q is neither an address nor a CIDR", i, s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// AuthConfig is what the SCIM client registry reads (at start and reload).
func (c *Config) AuthConfig() auth.Config {
	return auth.Config{Clients: c.SCIM.Clients, Tokens: c.Tokens, Literal: c.LiteralSecrets}
}
