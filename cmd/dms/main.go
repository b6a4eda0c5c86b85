// Command dms is the master nameserver and its admin commands.
package main

import (
	"context"
	"os"

	"dmsdns.org/dms/admin/cli"
)

func main() {
	os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
