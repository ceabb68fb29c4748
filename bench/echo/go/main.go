// Go echo server for the echo benchmark (bench/README.md): net with a
// goroutine per connection; run it with GOMAXPROCS=1. MIT licensed.
//
//	goecho PORT
package main

import (
	"fmt"
	"net"
	"os"
)

func serve(c net.Conn) {
	defer c.Close()
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: goecho PORT")
		os.Exit(2)
	}
	// net.Listen takes the backlog from net.core.somaxconn; accepted
	// TCP connections have TCP_NODELAY set by default.
	l, err := net.Listen("tcp", "127.0.0.1:"+os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go serve(c)
	}
}
