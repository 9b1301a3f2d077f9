// The Node `ws` echo server //bench:websocket measures ringnet against: echoes every message with
// its type, like `echo_server --proto=ws`.
//
//   NODE_PATH=<dir>/node_modules node echo_server.js [--listen=127.0.0.1:0]
//
// Prints "listening ws HOST:PORT" once ready and exits 0 on SIGTERM.
'use strict';

const WebSocket = require('ws');

const listen = (process.argv.find((a) => a.startsWith('--listen=')) || '--listen=127.0.0.1:0').slice(9);
const colon = listen.lastIndexOf(':');
const wss = new WebSocket.Server({
  host: listen.slice(0, colon),
  port: Number(listen.slice(colon + 1)),
  maxPayload: 64 << 20,
  perMessageDeflate: false,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('error', () => {});
});
wss.on('listening', () => {
  const a = wss.address();
  process.stdout.write(`listening ws ${a.address}:${a.port}\n`);
});
process.on('SIGTERM', () => {
  for (const ws of wss.clients) ws.terminate();
  wss.close(() => process.exit(0));
});
