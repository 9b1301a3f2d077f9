// The Go peer for //bench:compare: the standard library's net package, the way Go servers are
// written: one goroutine per TCP connection doing blocking Read/Write (the runtime's netpoller
// turns them into epoll underneath), and one goroutine for UDP doing ReadFromUDP/WriteToUDP.
// Standard library only; the comparison runs it with GOMAXPROCS=1.
//
//	go build -o go_echo_server bench/peers/go_echo_server.go
//	GOMAXPROCS=1 ./go_echo_server -proto=tcp -listen=127.0.0.1:0
//
// The per-connection buffer is 16 KiB, like the epoll baseline's read buffer and ringnet's
// provided buffers. Go sets TCP_NODELAY on TCP connections by default, like the other servers.
//
// Prints "listening tcp|udp HOST:PORT"; exits 0 on SIGTERM/SIGINT. Go keeps no system call counts
// (the comparison counts them with perf in a separate pass); -stats prints the connections
// accepted (TCP) or datagrams echoed (UDP).
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
)

const bufferSize = 16 << 10

var count atomic.Uint64

func serveTCP(c net.Conn) {
	defer c.Close()
	buf := make([]byte, bufferSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func runTCP(address string) (net.Addr, error) {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				continue
			}
			count.Add(1)
			go serveTCP(c)
		}
	}()
	return ln.Addr(), nil
}

func runUDP(address string) (net.Addr, error) {
	addr, err := net.ResolveUDPAddr("udp", address)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp", addr)
	if err != nil {
		return nil, err
	}
	conn.SetReadBuffer(4 << 20) // as echo_server --proto=udp
	go func() {
		buf := make([]byte, 65536)
		for {
			n, peer, err := conn.ReadFromUDP(buf)
			if err != nil {
				continue
			}
			conn.WriteToUDP(buf[:n], peer)
			count.Add(1)
		}
	}()
	return conn.LocalAddr(), nil
}

func main() {
	proto := flag.String("proto", "tcp", "tcp or udp")
	listen := flag.String("listen", "127.0.0.1:0", "HOST:PORT to listen on")
	stats := flag.Bool("stats", false, "print a stats line on exit")
	flag.Parse()
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	var addr net.Addr
	var err error
	switch *proto {
	case "tcp":
		addr, err = runTCP(*listen)
	case "udp":
		addr, err = runUDP(*listen)
	default:
		err = fmt.Errorf("unknown -proto=%s", *proto)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_echo_server:", err)
		os.Exit(1)
	}
	fmt.Printf("listening %s %s\n", *proto, addr)
	<-stop
	if *stats {
		name := "connections"
		if *proto == "udp" {
			name = "datagrams"
		}
		fmt.Printf("stats %s=%d\n", name, count.Load())
	}
	os.Exit(0)
}
