"""Interop: headless Chromium's WebSocket against ringnet's server, over the DevTools protocol.

  python3 chromium_interop.py <chromium> <path to //test/interop:ws_peer>

Starts ws_peer --mode=server and a headless Chromium with a fresh profile, then evaluates a script
in an about:blank page that opens a WebSocket to ringnet, exchanges text, binary and a 100 KB
message, closes with 4000 "browser bye", then has the server close a second socket with 4001
"server bye". The DevTools protocol is spoken over its own WebSocket with python3-websockets.
Exits 0 when every check passed.
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets

PAGE_SCRIPT = r"""
(async () => {
  const url = "ws://%(address)s/browser";
  const open = (u) => new Promise((resolve, reject) => {
    const ws = new WebSocket(u);
    ws.binaryType = "arraybuffer";
    const queue = [];
    let wake = null;
    ws.onmessage = (e) => { queue.push(e.data); if (wake) { wake(); wake = null; } };
    ws.closed = new Promise((r) => {
      ws.onclose = (e) => r({code: e.code, reason: e.reason, wasClean: e.wasClean});
    });
    ws.next = async () => {
      while (!queue.length) await new Promise((r) => { wake = r; });
      return queue.shift();
    };
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error("WebSocket error"));
  });
  const out = {};
  const ws = await open(url);
  ws.send("hello from chromium \u2713");
  const text = await ws.next();
  out.text = [typeof text, text];
  ws.send(new Uint8Array([0, 1, 2, 250, 255]));
  const binary = await ws.next();
  out.binary = [binary instanceof ArrayBuffer, Array.from(new Uint8Array(binary))];
  const big = "y".repeat(100000);
  ws.send(big);
  out.big = (await ws.next()) === big;
  ws.close(4000, "browser bye");
  out.browserClose = await ws.closed;
  const ws2 = await open(url);
  ws2.send("close 4001 server bye");
  out.serverClose = await ws2.closed;
  return out;
})()
"""


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def short_temp_dir():
    """A writable directory with a short path: Chromium's singleton socket path must fit in
    sockaddr_un (108 bytes), which Bazel's TEST_TMPDIR is too long for."""
    for candidate in ("/tmp", "/dev/shm", os.environ.get("TEST_TMPDIR")):
        if candidate and os.access(candidate, os.W_OK):
            return candidate
    return None


def start_ws_peer(ws_peer):
    proc = subprocess.Popen([ws_peer, "--mode=server"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    check(line.startswith("listening ws "), f"ws_peer did not start: {line!r}")
    return proc, line.split()[2]


def start_chromium(chromium, profile):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", "--remote-debugging-port=0", f"--user-data-dir={profile}",
             "about:blank"]
    env = dict(os.environ, HOME=profile, XDG_CONFIG_HOME=profile, XDG_CACHE_HOME=profile,
               TMPDIR=profile)
    proc = subprocess.Popen([chromium] + flags, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    # Chromium writes the port it chose into DevToolsActivePort (first line).
    active = os.path.join(profile, "DevToolsActivePort")
    deadline = time.monotonic() + 60
    while not (os.path.exists(active) and open(active).read().count("\n") >= 1):
        if proc.poll() is not None:
            raise AssertionError(f"chromium exited: {proc.stderr.read().decode()[-2000:]}")
        check(time.monotonic() < deadline, "chromium did not open its DevTools port")
        time.sleep(0.05)  # polling a file another process writes, not synchronisation
    return proc, int(open(active).read().split("\n")[0])


def page_websocket_url(port):
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    deadline = time.monotonic() + 30
    while True:
        targets = json.load(opener.open(f"http://127.0.0.1:{port}/json/list", timeout=10))
        pages = [t for t in targets if t.get("type") == "page"]
        if pages:
            return pages[0]["webSocketDebuggerUrl"]
        check(time.monotonic() < deadline, "no page target")
        time.sleep(0.05)


async def evaluate(devtools_url, expression):
    async with websockets.connect(devtools_url, max_size=None) as cdp:
        await cdp.send(json.dumps({"id": 1, "method": "Runtime.evaluate", "params": {
            "expression": expression, "awaitPromise": True, "returnByValue": True}}))
        while True:
            reply = json.loads(await asyncio.wait_for(cdp.recv(), 60))
            if reply.get("id") == 1:
                break
    result = reply.get("result", {})
    check("exceptionDetails" not in result, f"page script failed: {result}")
    return result["result"]["value"]


def wait_for_line(proc, prefix, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith(prefix):
            return line.rstrip("\n")
    raise AssertionError(f"no server line starting with {prefix!r}")


def main(chromium, ws_peer):
    server, address = start_ws_peer(ws_peer)
    profile = tempfile.mkdtemp(prefix="chromium-", dir=short_temp_dir())
    browser = None
    try:
        browser, port = start_chromium(chromium, profile)
        out = asyncio.run(evaluate(page_websocket_url(port), PAGE_SCRIPT % {"address": address}))
        print(json.dumps(out))
        check(out["text"] == ["string", "hello from chromium \u2713"], "text echo")
        check(out["binary"] == [True, [0, 1, 2, 250, 255]], "binary echo")
        check(out["big"], "100 KB echo")
        check(out["browserClose"] == {"code": 4000, "reason": "", "wasClean": True},
              f"browser close answered as {out['browserClose']}")
        check(out["serverClose"] == {"code": 4001, "reason": "server bye", "wasClean": True},
              f"server close seen as {out['serverClose']}")
        # The server saw the browser's code and reason.
        check(wait_for_line(server, "close 1 ") == "close 1 4000 browser bye", "server view")
        print("chromium -> ringnet server: PASS")
    finally:
        if browser is not None:
            browser.terminate()
            browser.wait(30)
        server.terminate()
        check(server.wait(30) == 0, "ws_peer exit code")
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main(sys.argv[1], os.path.abspath(sys.argv[2]))
