#!/usr/bin/python3
"""imgvec serve keeps answering while clients abuse it (issue 19, item 2): 10 slow clients trickle
header bytes, 4 abusive ones send a million header lines, headers without end, a body that never
finishes and pipelined requests, and health probes must still be answered within 100 ms. Bounded:
127.0.0.1 only, about 15 seconds.

    server_slow_clients_test.py IMGVEC_BINARY IMAGES_DIR SCRATCH_DIR
"""
import shutil
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from server_support import Servers, fresh_database  # noqa: E402

BIN, images, scratch = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
db = fresh_database(BIN, images, scratch)
servers = Servers(BIN)
check = servers.check
s = servers.start("--db", db, "--read-only")
host, port = s.base[len("http://"):].rsplit(":", 1)
port = int(port)
stop = threading.Event()


def connect():
    c = socket.create_connection((host, port), timeout=30)
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return c


def slow_client():
    """A header byte every 0.5 s: each byte would reset a per-read timeout."""
    try:
        c = connect()
        request = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 10000
        for byte in request:
            if stop.is_set():
                break
            c.send(bytes([byte]))
            time.sleep(0.5)
        c.close()
    except OSError:
        pass  # dropped by the server: what it should do


def many_headers():
    """Header lines as fast as the socket takes them, with no end."""
    try:
        c = connect()
        c.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        line = b"X-A: b\r\n" * 1000
        while not stop.is_set():
            c.sendall(line)
    except OSError:
        pass


def endless_body():
    """A declared 30 MB body that arrives a little at a time."""
    try:
        c = connect()
        c.sendall(b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 30000000\r\n\r\n{\"text\": \"")
        while not stop.is_set():
            c.sendall(b"a" * 100)
            time.sleep(0.2)
    except OSError:
        pass


def silent():
    """Connects and sends nothing."""
    try:
        c = connect()
        stop.wait(20)
        c.close()
    except OSError:
        pass


clients = [threading.Thread(target=slow_client) for _ in range(10)]
clients += [threading.Thread(target=f) for f in (many_headers, many_headers, endless_body, silent)]
for t in clients:
    t.start()
time.sleep(1.0)  # every abuser connected and holding what it holds

latencies = []
for _ in range(20):
    started = time.monotonic()
    try:
        c = connect()
        c.settimeout(5)
        c.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = c.recv(4096)
        c.close()
        ok = answer.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    latencies.append((time.monotonic() - started) * 1000 if ok else float("inf"))
    time.sleep(0.4)
stop.set()
for t in clients:
    t.join(timeout=30)
worst = max(latencies)
check(worst < 100, f"health probes answered within 100 ms while 14 clients abuse the server: worst "
      f"{worst:.1f} ms, median {sorted(latencies)[len(latencies) // 2]:.1f} ms")

# Pipelined requests on one connection are all answered, in order.
c = connect()
c.settimeout(10)
c.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 2 +
          b"GET /v1/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
got = b""
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    chunk = c.recv(65536)
    if not chunk:
        break
    got += chunk
c.close()
check(got.count(b"HTTP/1.1 200") == 3 and b'"count"' in got, f"three pipelined requests, three answers: {got[:200]!r}")

# Two Content-Length headers are refused (request smuggling), not read either way.
c = connect()
c.settimeout(10)
c.sendall(b"POST /v1/search HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\nContent-Length: 30\r\n"
          b"Connection: close\r\n\r\n{}")
answer = c.recv(4096)
c.close()
check(answer.startswith(b"HTTP/1.1 400"), f"two Content-Length headers: 400, {answer[:60]!r}")

code, out, err = s.stop()
check(code == 0, f"the server stops cleanly after the abuse ({code}): {err[-300:]}")
servers.kill_all()
shutil.rmtree(scratch)
print("slow clients: ok")
