package admin

// SetPasswordCompare replaces the bcrypt comparison of s's logins, so
// that tests can count the comparisons running at once.
func SetPasswordCompare(s *Service, f func(hash, password []byte) error) { s.authCache.compare = f }
