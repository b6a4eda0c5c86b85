// Command firstanswer measures a server's start-up: it runs the command
// given, asks QNAME/A over UDP at ADDR every millisecond until an answer
// comes, prints the milliseconds from exec to that answer, and stops the
// server (SIGTERM, then waits for it).
//
// Usage: firstanswer -addr 127.0.0.1:5300 -name h1.bench.example. -- dms serve ...
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "", "address:port the server answers on (UDP)")
	name := flag.String("name", "", "a name it answers")
	limit := flag.Duration("limit", 60*time.Second, "give up after this long")
	flag.Parse()
	if *addr == "" || *name == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: firstanswer -addr HOST:PORT -name QNAME -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	q := query(*name)
	c, err := net.Dial("udp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "firstanswer:", err)
		os.Exit(1)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "firstanswer:", err)
		os.Exit(1)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	buf := make([]byte, 1500)
	for time.Since(start) < *limit {
		_, _ = c.Write(q)
		_ = c.SetReadDeadline(time.Now().Add(time.Millisecond))
		if n, err := c.Read(buf); err == nil && n >= 12 && buf[0] == q[0] && buf[1] == q[1] && buf[3]&0x0f == 0 {
			fmt.Printf("%.1f\n", float64(time.Since(start).Microseconds())/1000)
			return
		}
	}
	fmt.Fprintln(os.Stderr, "firstanswer: no answer within", *limit)
	os.Exit(1)
}

// query packs a query for name's A record.
func query(name string) []byte {
	b := []byte{0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}
	for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0, 0, 1, 0, 1) // the root, type A, class IN
}
