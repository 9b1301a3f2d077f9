#!/usr/bin/env python3
"""The tcp_proxy CLI contract, checked with plain Python sockets (independent peers).

  - `tcp_proxy --listen=127.0.0.1:0 --upstream=HOST:PORT [--loops=N]` prints
    "listening tcp HOST:PORT" with the real port, and relays byte for byte to the upstream
    (echo_server), over several connections at once, on one loop and on two;
  - an upstream that refuses the connection closes the downstream, and the proxy carries on;
  - an upstream that sends and closes: the downstream gets every byte, then EOF; a client that
    closes: the upstream sees EOF;
  - SIGTERM and SIGINT: exit status 0 within 5 s, also with a client connected, and with one
    that has megabytes queued for it and reads nothing;
  - a missing or bad --upstream: exit status 1 and a message, before listening.

usage: tcp_proxy_contract.py <path to tcp_proxy> <path to echo_server>
"""
import random
import signal
import socket
import subprocess
import sys
import threading
import time


def start(binary, args, proto="tcp"):
    p = subprocess.Popen([binary, *args], stdout=subprocess.PIPE, text=True)
    line = p.stdout.readline().strip()
    words = line.split()
    assert len(words) == 3 and words[0] == "listening" and words[1] == proto, repr(line)
    host, port = words[2].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0, line
    return p, (host, int(port))


def stop(p, sig=signal.SIGTERM):
    start_time = time.monotonic()
    p.send_signal(sig)
    try:
        code = p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        raise AssertionError("still running 5 s after the signal")
    took = time.monotonic() - start_time
    assert code == 0, f"exit status {code}"
    assert took < 5, f"took {took:.1f} s to exit"
    return took


def recv_exactly(s, n):
    got = bytearray()
    while len(got) < n:
        chunk = s.recv(min(1 << 20, n - len(got)))
        assert chunk, f"EOF after {len(got)} of {n} bytes"
        got += chunk
    return bytes(got)


def expect_eof(s, timeout=5):
    s.settimeout(timeout)
    try:
        rest = s.recv(1 << 16)
    except ConnectionResetError:
        rest = b""
    assert rest == b"", f"{len(rest)} unexpected bytes instead of EOF"


def dead_address():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    address = s.getsockname()
    s.close()
    return address


def check_relay(proxy, echo_address):
    for loops in (1, 2):
        p, addr = start(proxy, ["--listen=127.0.0.1:0",
                                f"--upstream={echo_address[0]}:{echo_address[1]}",
                                f"--loops={loops}"])
        errors = []

        def client(seed):
            try:
                rng = random.Random(seed)
                with socket.create_connection(addr, timeout=30) as s:
                    for size in (1, 100, 70000, 1 << 20):
                        data = rng.randbytes(size)
                        s.sendall(data)
                        assert recv_exactly(s, size) == data, f"relay of {size} bytes differs"
            except Exception as e:
                errors.append(f"client {seed}: {e!r}")

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        lingering = socket.create_connection(addr)  # still open at shutdown
        lingering.sendall(b"x")
        assert lingering.recv(1) == b"x"
        stop(p, signal.SIGTERM if loops == 1 else signal.SIGINT)
        lingering.close()
    print("relay (1 and 2 loops, 8 connections, SIGTERM/SIGINT with a client open): ok")


def check_refused_upstream(proxy):
    p, addr = start(proxy, ["--listen=127.0.0.1:0", "--upstream=%s:%d" % dead_address()])
    for _ in range(3):  # and it keeps serving
        with socket.create_connection(addr) as s:
            s.sendall(b"lost: nothing to relay to")
            expect_eof(s)
    stop(p)
    print("refused upstream closes the downstream: ok")


def check_close_propagation(proxy):
    upstream = socket.create_server(("127.0.0.1", 0))
    p, addr = start(proxy, ["--listen=127.0.0.1:0", "--upstream=%s:%d" % upstream.getsockname()])
    upstream.settimeout(10)
    # The upstream sends 4 MiB and closes: all of it reaches the client, then EOF.
    data = random.randbytes(4 << 20)
    with socket.create_connection(addr) as s:
        conn, _ = upstream.accept()
        conn.sendall(data)
        conn.close()
        s.settimeout(10)
        assert recv_exactly(s, len(data)) == data, "bytes sent before the upstream closed differ"
        expect_eof(s)
    # The client closes: the upstream gets what it sent, then EOF.
    with socket.create_connection(addr) as s:
        conn, _ = upstream.accept()
        s.sendall(b"bye")
    with conn:
        conn.settimeout(10)
        assert recv_exactly(conn, 3) == b"bye"
        expect_eof(conn)
    stop(p)
    upstream.close()
    print("a close on either side closes the other after its bytes: ok")


def check_stop_with_a_stuck_reader(proxy, echo_address):
    p, addr = start(proxy, ["--listen=127.0.0.1:0",
                            f"--upstream={echo_address[0]}:{echo_address[1]}"])
    s = socket.create_connection(addr)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(10)
    sent = 0
    try:  # until TCP pushes back: the echo's queues and every buffer on the way are full
        s.setblocking(False)
        chunk = b"z" * (1 << 16)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                sent += s.send(chunk)
            except BlockingIOError:
                time.sleep(0.05)
                try:
                    sent += s.send(chunk)
                except BlockingIOError:
                    break
    finally:
        s.setblocking(True)
    assert sent > 1 << 20, f"only {sent} bytes went out"
    took = stop(p)
    s.close()
    print(f"SIGTERM with {sent >> 20} MiB stuck for a client that reads nothing: exit 0 in "
          f"{took:.1f} s: ok")


def check_bad_flags(proxy):
    for args in (["--listen=127.0.0.1:0"], ["--listen=127.0.0.1:0", "--upstream=nowhere"]):
        r = subprocess.run([proxy, *args], capture_output=True, text=True, timeout=10)
        assert r.returncode == 1, f"{args}: exit status {r.returncode}"
        assert "listening" not in r.stdout, r.stdout
        assert "tcp_proxy:" in r.stderr, r.stderr
    print("bad flags: exit 1: ok")


def main():
    proxy, echo_server = sys.argv[1], sys.argv[2]
    echo, echo_address = start(echo_server, ["--proto=tcp", "--listen=127.0.0.1:0"])
    try:
        check_relay(proxy, echo_address)
        check_refused_upstream(proxy)
        check_close_propagation(proxy)
        check_stop_with_a_stuck_reader(proxy, echo_address)
        check_bad_flags(proxy)
    finally:
        stop(echo)
    print("ok")


if __name__ == "__main__":
    main()
