import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { Fixture, HOST } from './testing/fixture.js';

const run = promisify(execFile);
const fixture = new Fixture();
afterEach(() => fixture.cleanup());

// What the seed's Medidor.py and lector.py do, line for line: the sensor sends
// str(num) over a SOCK_DGRAM socket (no newline); the reader connects, sends
// b'n', reads the reply with one recv and closes, once per poll.
const SEED_CLIENTS = `
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
server_address = (host, port)
replies = []
for num in [0.0, 0.25, 1e-05, 0.1 + 0.2, -2.5]:
    sendData = str.encode(str(num))
    sent = sock.sendto(sendData, server_address)
    for attempt in range(500):
        client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        client.connect(server_address)
        client.send(b'n')
        data = client.recv(1024)
        client.close()
        if float(data) == num:
            break
    replies.append(data.decode())
sys.stdout.write(repr(replies))
`;

describe('opc-server with the original Python clients', () => {
  it('stores what Medidor.py sends and answers lector.py with the same values', async () => {
    const { server, address } = await fixture.start();
    const { stdout } = await run('python3', ['-c', SEED_CLIENTS, HOST, String(address.port)], { timeout: 15_000 });
    // Python's repr of the list of decoded replies: each one value and a newline.
    expect(stdout).toBe(String.raw`['0\n', '0.25\n', '0.00001\n', '0.30000000000000004\n', '-2.5\n']`);
    expect(server.store.get('default')?.count).toBe(5);
    expect(server.stats().readings_rejected).toBe(0);
  });
});
