package cli

import (
	"bytes"
	"os"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandDocumented: every command has a short description, and
// every runnable one an example.
func TestEveryCommandDocumented(t *testing.T) {
	var b bytes.Buffer
	root := NewRoot(&Factory{In: &b, Out: &b, Err: &b, Getenv: os.Getenv, Output: "text"})
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Short == "" {
			t.Errorf("%s has no short description", c.CommandPath())
		}
		if c.Runnable() && c.Example == "" && c.Name() != "help" && c.Name() != "completion" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
}
