"""The original system's server (opc.py), re-implemented from the seed's write-up.

    python3 bench/reference/seed_server.py <port>     (0 = any free port)

One process, one loop: select() with a 1 s timeout over the UDP socket, the
listening TCP socket and the connected clients. UDP: each datagram is the
sensor's bare float; the last one is kept. TCP: every `n` received is answered
with the last value followed by a newline; a client that closes is dropped.

One deliberate difference: the write-up passes the read list as select()'s
write and exception lists too, which makes select() return at once on every
iteration (connected sockets are always writable) and turns the loop into a
busy spin. Here only the read list is watched, as the write-up intends
("only look at TCP or UDP when something moved"), which is also the faster of
the two for the measurements that use this server.

The write-up does not say what `n` answers before the first datagram; here it
is `nan`, as opc-lite answers, so that a poll that comes first is answered
instead of ending the loop.

Prints `ready tcp=127.0.0.1:<p> udp=127.0.0.1:<p>` on stdout when it listens.
"""

import select
import signal
import socket
import sys

HOST = "127.0.0.1"


def main():
    try:
        port = int(sys.argv[1]) if len(sys.argv) > 1 else 7330
        if not 0 <= port <= 65535:
            raise ValueError(port)
    except ValueError:
        sys.stderr.write("usage: seed_server.py <port>\n")
        return 2

    socket_tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    socket_tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    socket_tcp.bind((HOST, port))
    port = socket_tcp.getsockname()[1]
    socket_tcp.listen(128)
    socket_udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    socket_udp.bind((HOST, port))

    clients = []

    def stop(_signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    sys.stdout.write("ready tcp=%s:%d udp=%s:%d\n" % (HOST, port, HOST, port))
    sys.stdout.flush()

    try:
        serve(socket_tcp, socket_udp, clients)
    finally:
        for s in clients:
            s.close()
        socket_udp.close()
        socket_tcp.close()
    return 0


def serve(socket_tcp, socket_udp, clients):
    value = float("nan")
    while True:
        readable, _, _ = select.select([socket_udp, socket_tcp] + clients, [], [], 1.0)
        for s in readable:
            if s is socket_tcp:
                conn, _ = socket_tcp.accept()
                clients.append(conn)
            elif s is socket_udp:
                data, _ = socket_udp.recvfrom(1024)
                try:
                    value = float(data)
                except ValueError:
                    pass
            else:
                try:
                    data = s.recv(1024)
                except OSError:
                    data = b""
                if not data:
                    clients.remove(s)
                    s.close()
                    continue
                polls = data.count(b"n")
                if polls:
                    try:
                        s.sendall(((str(value) + "\n") * polls).encode())
                    except OSError:
                        clients.remove(s)
                        s.close()


if __name__ == "__main__":
    sys.exit(main())
