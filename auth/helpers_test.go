package auth

// cheapHash is an argon2id hash with small parameters, to keep the race
// detector's tests fast; TestHashSecret covers the real parameters once.
func cheapHash(plain string) (string, error) { return hashArgon(plain, 1024, 1) }
