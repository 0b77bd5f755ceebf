#!/usr/bin/env python3
"""Hostile requests for the soak (benchmarks/soak/run.sh): malformed request lines, control bytes,
smuggling shapes, obs-fold, oversized heads, broken chunking and stalled bodies, each on a fresh
connection to a gateway on loopback, at a steady rate, for a bounded time. Every one must be refused
(4xx) or closed; an answer of 2xx or 5xx is counted as unexpected and printed.

    python3 hostile.py PORT RATE SECONDS [THREADS]
"""
import socket
import sys
import threading
import time
from collections import Counter

SHAPES = {
    "nul_in_target": b"GET /2/tweets/\x00x HTTP/1.1\r\nHost: x\r\n\r\n",
    "cl_and_te": b"POST /2/tweets HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "two_lengths": b"POST /2/tweets HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    "te_not_chunked_last": b"POST /2/tweets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
    "obs_fold": b"GET /2/tweets HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "bad_request_line": b"GET  /2/tweets  HTTP/1.1\r\nHost: x\r\n\r\n",
    "bare_cr": b"GET /2/tweets\rHTTP/1.1\r\nHost: x\r\n\r\n",
    "space_in_host": b"GET /2/tweets HTTP/1.1\r\nHost: bad host\r\n\r\n",
    "oversized_head": b"GET /2/tweets HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n",
    "long_target": b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "broken_chunk": b"POST /2/tweets HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    "stalled_body": b"POST /2/tweets HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789",
}

lock = threading.Lock()
statuses = Counter()
unexpected = Counter()
sent = 0


def one(port, name, raw):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        try:
            s.sendall(raw)
        except OSError:
            pass  # refused before all was sent (an oversized head): the answer is still there to read
        data = b""
        while True:
            try:
                chunk = s.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        status = line.split(" ")[1] if line.startswith("HTTP/1.") else "closed"
    finally:
        s.close()
    return status


def worker(port, interval, end, k):
    global sent
    names = list(SHAPES)
    i = k
    next_at = time.monotonic()
    while time.monotonic() < end:
        name = names[i % len(names)]
        i += 1
        try:
            status = one(port, name, SHAPES[name])
        except OSError as e:
            status = "error:" + type(e).__name__
        with lock:
            sent += 1
            statuses[status] += 1
            if not (status.startswith("4") or status == "closed"):
                unexpected[(name, status)] += 1
        next_at += interval
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def main():
    port, rate, seconds = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    end = time.monotonic() + seconds
    ts = [threading.Thread(target=worker, args=(port, threads / rate, end, k), daemon=True) for k in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print("hostile: %d requests (%d shapes), answers %s, unexpected %d %s" % (
        sent, len(SHAPES), dict(sorted(statuses.items())), sum(unexpected.values()), dict(unexpected)))


if __name__ == "__main__":
    main()
