// The plain Node reference: the legacy protocol only, written the
// straightforward way (dgram + net, one socket.write per reply), as the
// baseline every opc-lite figure is compared with.
//
//   node bench/reference/plain-node-server.mjs <port>    (0 = any free port)
//
// UDP: each datagram is a bare float; the last one is kept.
// TCP: every `n` byte is answered with String(value) + '\n'.
// Prints `ready tcp=127.0.0.1:<p> udp=127.0.0.1:<p>` on stdout when both listen.
import dgram from 'node:dgram';
import net from 'node:net';
import process from 'node:process';

const HOST = '127.0.0.1';
const requested = Number(process.argv[2] ?? '7330');
if (!Number.isInteger(requested) || requested < 0 || requested > 65535) {
  process.stderr.write('usage: plain-node-server.mjs <port>\n');
  process.exit(2);
}

let value = NaN;

const tcp = net.createServer((socket) => {
  socket.on('data', (chunk) => {
    for (const byte of chunk) {
      if (byte === 0x6e /* n */) socket.write(String(value) + '\n');
    }
  });
  socket.on('error', () => socket.destroy());
});

const udp = dgram.createSocket('udp4');
udp.on('message', (msg) => {
  const v = Number(msg.toString());
  if (Number.isFinite(v)) value = v;
});

// One port number for both: TCP first (0 picks one), then UDP on the same number.
tcp.listen(requested, HOST, () => {
  const { port } = /** @type {import('node:net').AddressInfo} */ (tcp.address());
  udp.bind(port, HOST, () => {
    process.stdout.write(`ready tcp=${HOST}:${port} udp=${HOST}:${port}\n`);
  });
});

const stop = () => {
  udp.close();
  tcp.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
