package admin

import (
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestDummyHashCost: the hash an unknown login's password is compared
// with is a real bcrypt hash of the default cost, so a wrong login name
// takes as long to refuse as a wrong password.
func TestDummyHashCost(t *testing.T) {
	cost, err := bcrypt.Cost(dummyHash)
	if err != nil || cost != bcrypt.DefaultCost {
		t.Fatalf("cost %d, %v; want %d", cost, err, bcrypt.DefaultCost)
	}
	if err := bcrypt.CompareHashAndPassword(dummyHash, []byte("dms-no-such-login")); err != nil {
		t.Fatal(err)
	}
}
