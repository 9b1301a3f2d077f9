#!/usr/bin/env python3
"""The echo_server CLI contract, checked with plain Python sockets (an independent peer).

For each protocol: start `echo_server --proto=P --listen=127.0.0.1:0`, read the
"listening P HOST:PORT" line, echo through it with Python's socket module, then send SIGTERM
(and SIGINT) and require exit status 0 within 5 seconds, also with a client still connected.

usage: echo_server_contract.py <path to echo_server> <proto>...
"""
import os
import random
import signal
import socket
import subprocess
import sys
import time


def start(binary, proto, extra=()):
    p = subprocess.Popen([binary, f"--proto={proto}", "--listen=127.0.0.1:0", *extra],
                         stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    words = line.split()
    assert len(words) == 3 and words[0] == "listening" and words[1] == proto, line
    host, port = words[2].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0, line
    return p, (host, int(port))


def stop(p, sig):
    start_time = time.monotonic()
    p.send_signal(sig)
    code = p.wait(timeout=5)
    took = time.monotonic() - start_time
    assert code == 0, f"exit status {code}"
    assert took < 5, f"took {took:.1f} s to exit"


def check_tcp(binary):
    for sig in (signal.SIGTERM, signal.SIGINT):
        p, addr = start(binary, "tcp")
        with socket.create_connection(addr) as s:
            for size in (1, 100, 70000, 1 << 20):
                data = random.randbytes(size)
                s.sendall(data)
                got = b""
                while len(got) < size:
                    chunk = s.recv(1 << 16)
                    assert chunk, "EOF before the echo was complete"
                    got += chunk
                assert got == data, f"tcp echo of {size} bytes differs"
            lingering = socket.create_connection(addr)  # still open at shutdown
            lingering.sendall(b"x")
            assert lingering.recv(1) == b"x"
            stop(p, sig)
            lingering.close()
    print("tcp: ok")


def check_udp(binary):
    p, addr = start(binary, "udp")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(10)
        for size in (0, 1, 1472, 65507):
            data = random.randbytes(size)
            s.sendto(data, addr)
            got, sender = s.recvfrom(70000)
            assert got == data, f"udp echo of {size} bytes differs"
            assert sender == addr, f"reply came from {sender}"
    stop(p, signal.SIGTERM)
    print("udp: ok")


def main():
    binary = sys.argv[1]
    for proto in sys.argv[2:]:
        {"tcp": check_tcp, "udp": check_udp}[proto](binary)


if __name__ == "__main__":
    main()
