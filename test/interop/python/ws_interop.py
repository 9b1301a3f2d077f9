"""Interop: Python websockets (Debian's python3-websockets) against ringnet's WebSocket endpoints.

  python3 ws_interop.py <path to //test/interop:ws_peer>

1. websockets' client against ringnet's server (ws_peer --mode=server): text, binary, empty,
   64 KiB and 16 MiB messages echoed with their type, fragmented messages, a ping, a close
   started by the server (4001 "server bye") and one started by the client (4002 "client bye").
2. websockets' server against ringnet's client (ws_peer --mode=client), which runs the matching
   conversation: echoes, fragmented messages and a ping from the server, the server's close, then
   a second session closed by the client with 4002 "client bye".
Exits 0 when every check passed.
"""

import asyncio
import os
import sys

import websockets

BIG = "".join(chr(ord("a") + i % 26) for i in range(64 << 10))
HUGE = bytes((i * 7 + i // 4096) % 256 for i in range(16 << 20))


def check(condition, what):
    if not condition:
        raise AssertionError(what)


class RingnetServer:
    """ws_peer --mode=server as a child process; its event lines are collected."""

    def __init__(self, ws_peer):
        self.ws_peer = ws_peer
        self.events = []

    async def __aenter__(self):
        self.proc = await asyncio.create_subprocess_exec(
            self.ws_peer, "--mode=server", stdout=asyncio.subprocess.PIPE)
        line = (await self.proc.stdout.readline()).decode()
        check(line.startswith("listening ws "), f"ws_peer did not start: {line!r}")
        self.address = line.split()[2]
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self):
        while line := await self.proc.stdout.readline():
            self.events.append(line.decode().rstrip("\n"))

    async def wait_event(self, prefix, timeout=30):
        async def poll():
            while not any(e.startswith(prefix) for e in self.events):
                await asyncio.sleep(0.01)  # polling the collected output, not synchronisation
            return next(e for e in self.events if e.startswith(prefix))
        return await asyncio.wait_for(poll(), timeout)

    async def __aexit__(self, *exc):
        self.proc.terminate()
        rc = await self.proc.wait()
        await self.reader
        check(rc == 0, f"ws_peer server exited with {rc}")


async def client_against_ringnet(ws_peer):
    async with RingnetServer(ws_peer) as server:
        url = f"ws://{server.address}/python?client=1"
        async with websockets.connect(url, max_size=None, compression=None) as ws:
            for message in ["héllo ✓", bytes(range(256)), "", b"", BIG, HUGE]:
                await ws.send(message)
                echo = await asyncio.wait_for(ws.recv(), 60)
                check(type(echo) is type(message) and echo == message,
                      f"echo of a {type(message).__name__} of {len(message)}")
            await ws.send(["frag", "men", "ted"])
            check(await ws.recv() == "fragmented", "fragmented text")
            await ws.send([b"\x01\x02", b"", b"\x03"])
            check(await ws.recv() == b"\x01\x02\x03", "fragmented binary")
            pong = await ws.ping(b"python ping")
            await asyncio.wait_for(pong, 10)
            await ws.send("close 4001 server bye")
            try:
                await asyncio.wait_for(ws.recv(), 30)
                check(False, "the server did not close")
            except websockets.ConnectionClosed:
                pass
            check(ws.close_code == 4001 and ws.close_reason == "server bye",
                  f"server close: {ws.close_code} {ws.close_reason!r}")
        async with websockets.connect(url, compression=None) as ws:
            await ws.close(code=4002, reason="client bye")
            check(ws.close_code == 4002, f"the server answered {ws.close_code}, not 4002")
        event = await server.wait_event("close 2 ")
        check(event == "close 2 4002 client bye", f"server saw: {event!r}")
        errors = [e for e in server.events if e.startswith("error") and " 4002 " not in e]
        check(not errors, f"unexpected server errors: {errors}")
    print("python client -> ringnet server: PASS")


async def server_for_ringnet(ws_peer):
    closes = []

    async def handler(ws, path=None):
        try:
            async for message in ws:
                if message == "fragments":
                    await ws.send(["fragmented", " message"])
                    await ws.send([b"\x00\x01", b"\x02\x03"])
                elif message == "ping":
                    await asyncio.wait_for(await ws.ping(b"python server ping"), 10)
                    await ws.send("pong received")
                elif message == "close":
                    await ws.close(4001, "server bye")
                else:
                    await ws.send(message)
        except websockets.ConnectionClosed:
            pass
        await ws.wait_closed()
        closes.append((ws.close_code, ws.close_reason))

    async with websockets.serve(handler, "127.0.0.1", 0, max_size=None, compression=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            ws_peer, "--mode=client", f"--url=ws://127.0.0.1:{port}/python-server",
            stdout=asyncio.subprocess.PIPE)
        output, _ = await asyncio.wait_for(proc.communicate(), 120)
        print(output.decode(), end="")
        check(proc.returncode == 0, f"ws_peer client exited with {proc.returncode}")
        while len(closes) < 2:
            await asyncio.sleep(0.01)  # the handlers finish right after the client's exit
        check(closes[1] == (4002, "client bye"), f"client close seen as {closes[1]}")
    print("ringnet client -> python server: PASS")


async def main(ws_peer):
    await client_against_ringnet(ws_peer)
    await server_for_ringnet(ws_peer)


if __name__ == "__main__":
    print(f"python websockets {websockets.__version__}")
    asyncio.run(main(os.path.abspath(sys.argv[1])))
