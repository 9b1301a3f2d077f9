// Interop: Node's ws (pinned in package-lock.json) against ringnet's WebSocket endpoints.
//
//   NODE_PATH=<dir>/node_modules node ws_interop.js <path to //test/interop:ws_peer>
//
// 1. ws's client against ringnet's server (ws_peer --mode=server): text, binary, empty, 64 KiB and
//    16 MiB messages echoed with their type, fragmented messages, a ping, a close started by the
//    server (4001 "server bye") and one started by the client (4002 "client bye").
// 2. ws's server against ringnet's client (ws_peer --mode=client), which runs the matching
//    conversation (see ws_peer.cc).
// Exits 0 when every check passed.
'use strict';

const { spawn } = require('child_process');
const readline = require('readline');
const path = require('path');
const WebSocket = require('ws');

const BIG = Array.from({ length: 64 << 10 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
const HUGE = Buffer.alloc(16 << 20);
for (let i = 0; i < HUGE.length; i++) HUGE[i] = (i * 7 + Math.floor(i / 4096)) & 0xff;

function check(condition, what) {
  if (!condition) throw new Error(`check failed: ${what}`);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timeout: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// ws_peer --mode=server as a child process; its event lines are collected.
async function startRingnetServer(wsPeer) {
  const proc = spawn(wsPeer, ['--mode=server'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: proc.stdout });
  const events = [];
  const waiters = [];
  const address = await new Promise((resolve, reject) => {
    lines.on('line', (line) => {
      if (line.startsWith('listening ws ')) return resolve(line.split(' ')[2]);
      events.push(line);
      for (const w of waiters.splice(0)) w();
    });
    proc.on('exit', (code) => reject(new Error(`ws_peer exited with ${code}`)));
  });
  const exited = new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  return {
    address,
    events,
    async waitEvent(prefix) {
      for (;;) {
        const found = events.find((e) => e.startsWith(prefix));
        if (found) return found;
        await withTimeout(new Promise((resolve) => waiters.push(resolve)), 30000, prefix);
      }
    },
    async stop() {
      proc.kill('SIGTERM');
      check((await exited) === 0, 'ws_peer server exit code');
    },
  };
}

// A client with a queue of received messages.
function connect(url) {
  const ws = new WebSocket(url, { maxPayload: 64 << 20, perMessageDeflate: false });
  const queue = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    queue.push({ data, isBinary });
    for (const w of waiters.splice(0)) w();
  });
  ws.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  ws.next = async () => {
    while (queue.length === 0) {
      await withTimeout(new Promise((resolve) => waiters.push(resolve)), 60000, 'message');
    }
    return queue.shift();
  };
  return new Promise((resolve, reject) => {
    ws.on('open', () => resolve(ws));
    ws.on('error', reject);
  });
}

async function clientAgainstRingnet(wsPeer) {
  const server = await startRingnetServer(wsPeer);
  const url = `ws://${server.address}/node?client=1`;
  const ws = await connect(url);
  const messages = [
    ['héllo ✓', false], [Buffer.from([...Array(256).keys()]), true], ['', false],
    [Buffer.alloc(0), true], [BIG, false], [HUGE, true],
  ];
  for (const [message, binary] of messages) {
    ws.send(message, { binary });
    const echo = await ws.next();
    check(echo.isBinary === binary, `echo type of ${message.length}`);
    check(Buffer.compare(echo.data, Buffer.from(message)) === 0, `echo bytes of ${message.length}`);
  }
  ws.send('frag', { fin: false });
  ws.send('men', { fin: false });
  ws.send('ted', { fin: true });
  const text = await ws.next();
  check(!text.isBinary && text.data.toString() === 'fragmented', 'fragmented text');
  ws.send(Buffer.from([1, 2]), { binary: true, fin: false });
  ws.send(Buffer.from([3]), { binary: true, fin: true });
  const binary = await ws.next();
  check(binary.isBinary && Buffer.compare(binary.data, Buffer.from([1, 2, 3])) === 0, 'fragmented binary');
  const pong = new Promise((resolve) => ws.once('pong', resolve));
  ws.ping('node ping');
  check((await withTimeout(pong, 10000, 'pong')).toString() === 'node ping', 'pong payload');
  ws.send('close 4001 server bye');
  const serverClose = await withTimeout(ws.closed, 30000, 'server close');
  check(serverClose.code === 4001 && serverClose.reason === 'server bye', `server close ${JSON.stringify(serverClose)}`);

  const ws2 = await connect(url);
  ws2.close(4002, 'client bye');
  const answer = await withTimeout(ws2.closed, 30000, 'client close');
  check(answer.code === 4002, `the server answered ${answer.code}`);
  const event = await server.waitEvent('close 2 ');
  check(event === 'close 2 4002 client bye', `server saw ${event}`);
  await server.stop();
  console.log('node client -> ringnet server: PASS');
}

async function serverForRingnet(wsPeer) {
  const wss = new WebSocket.Server({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20, perMessageDeflate: false });
  await new Promise((resolve) => wss.on('listening', resolve));
  const closes = [];
  let pings = 0;
  wss.on('connection', (ws) => {
    ws.on('ping', () => pings++);
    ws.on('close', (code, reason) => closes.push([code, reason.toString()]));
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString();
      if (text === 'fragments') {
        ws.send('fragmented', { fin: false });
        ws.send(' message', { fin: true });
        ws.send(Buffer.from([0, 1]), { binary: true, fin: false });
        ws.send(Buffer.from([2, 3]), { binary: true, fin: true });
      } else if (text === 'ping') {
        ws.once('pong', () => ws.send('pong received'));
        ws.ping('node server ping');
      } else if (text === 'close') {
        ws.close(4001, 'server bye');
      } else {
        ws.send(data, { binary: isBinary });
      }
    });
  });
  const port = wss.address().port;
  const proc = spawn(wsPeer, ['--mode=client', `--url=ws://127.0.0.1:${port}/node-server`], { stdio: ['ignore', 'inherit', 'inherit'] });
  const code = await withTimeout(new Promise((resolve) => proc.on('exit', resolve)), 120000, 'ws_peer client');
  check(code === 0, `ws_peer client exited with ${code}`);
  while (closes.length < 2) await new Promise((resolve) => setTimeout(resolve, 10));
  check(closes[1][0] === 4002 && closes[1][1] === 'client bye', `client close seen as ${closes[1]}`);
  check(pings > 0, 'ringnet client heartbeat pings');
  await new Promise((resolve) => wss.close(resolve));
  console.log(`ringnet client -> node server: PASS (${pings} heartbeat pings answered)`);
}

(async () => {
  const wsPeer = path.resolve(process.argv[2]);
  console.log(`node ${process.version}, ws ${require('ws/package.json').version}`);
  await clientAgainstRingnet(wsPeer);
  await serverForRingnet(wsPeer);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
