#!/usr/bin/python3
"""A Linux-side client of Gantry's kv server (docs/apps.md, "kv").

  kv-client.py basic HOST PORT
      SET/GET/DEL/PING round trips with their expected replies; exit 0 if all match.
  kv-client.py load HOST PORT ACKED_FILE [THREADS]
      THREADS connections each SET its own 500 keys round and round with new
      values as fast as the server answers, appending "S key value" to ACKED_FILE
      before each SET and "A key value" after its OK (line-buffered), until the
      server goes away.
  kv-client.py verify HOST PORT ACKED_FILE
      GETs every acknowledged key in ACKED_FILE: it must hold its last
      acknowledged value (or a later one whose SET got no answer); exit 0 if so.
"""
import socket
import sys
import threading
import time


class Connection:
    def __init__(self, host, port, timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.file = self.sock.makefile("rwb")

    def request(self, line):
        self.file.write(line.encode() + b"\n")
        self.file.flush()
        reply = self.file.readline()
        if not reply.endswith(b"\n"):
            raise ConnectionError("connection closed")
        return reply[:-1].decode()


def connect_retrying(host, port, seconds=10.0):
    give_up = time.monotonic() + seconds
    while True:
        try:
            return Connection(host, port)
        except OSError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.05)


def basic(host, port):
    conn = connect_retrying(host, port)
    long_value = "x" * 256
    script = [
        ("PING", "PONG"),
        ("GET nothing", "NOT_FOUND"),
        ("SET greeting hello world", "OK"),
        ("GET greeting", "VALUE hello world"),
        ("SET greeting bye", "OK"),
        ("GET greeting", "VALUE bye"),
        ("SET long " + long_value, "OK"),
        ("GET long", "VALUE " + long_value),
        ("SET long " + long_value + "y", "ERR value longer than 256 bytes"),
        ("DEL greeting", "DELETED"),
        ("DEL greeting", "NOT_FOUND"),
        ("GET greeting", "NOT_FOUND"),
        ("SET " + "k" * 65 + " v", "ERR key must be 1 to 64 bytes without spaces"),
        ("FROB x", "ERR unknown command (SET, GET, DEL, PING, STATS)"),
    ]
    failures = 0
    for request, expected in script:
        reply = conn.request(request)
        status = "ok" if reply == expected else "FAIL"
        failures += reply != expected
        print(f"{status}: {request[:40]!r} -> {reply[:60]!r}" +
              ("" if reply == expected else f" (expected {expected[:60]!r})"))
    return 1 if failures else 0


def load(host, port, acked_path, threads, keys_per_thread=500):
    lock = threading.Lock()
    out = open(acked_path, "a", buffering=1)
    counts = [0] * threads

    def worker(index):
        try:
            conn = connect_retrying(host, port)
            serial = 0
            while True:
                key = f"t{index}-{serial % keys_per_thread}"
                value = f"value-{index}-{serial}-" + "z" * (serial % 97)
                # "S" before sending, "A" once acknowledged: a SET sent but not
                # answered when the server died may or may not have been applied.
                with lock:
                    out.write(f"S {key} {value}\n")
                if conn.request(f"SET {key} {value}") != "OK":
                    return
                with lock:
                    out.write(f"A {key} {value}\n")
                counts[index] += 1
                serial += 1
        except (OSError, ConnectionError):
            return  # the server went away

    workers = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.close()
    print(f"load: {sum(counts)} SETs acknowledged over {threads} connections")
    return 0


def verify(host, port, acked_path):
    conn = connect_retrying(host, port)
    checked = missing = 0
    # Each key belongs to one connection, which waited for every answer: the
    # key must hold its last acknowledged value, or the value of a SET sent
    # after it that got no answer (at most one per connection: the one in flight
    # at the kill).
    acked = {}
    unanswered = {}
    acknowledged = in_flight = 0
    with open(acked_path) as log:
        for line in log:
            kind, key, value = line.rstrip("\n").split(" ", 2)
            if kind == "A":
                acked[key] = value
                unanswered.pop(key, None)
                acknowledged += 1
            else:
                unanswered[key] = value
    in_flight = len(unanswered)
    for key, value in acked.items():
        reply = conn.request(f"GET {key}")
        checked += 1
        allowed = {f"VALUE {value}"}
        if key in unanswered:
            allowed.add(f"VALUE {unanswered[key]}")
        if reply not in allowed:
            missing += 1
            if missing <= 10:
                print(f"LOST: {key}: expected {value[:30]!r}, got {reply[:60]!r}")
    print(f"verify: {acknowledged} acknowledged SETs ({in_flight} more unanswered at the kill); "
          f"the latest of {checked} keys checked, {missing} lost or wrong")
    return 1 if missing or checked == 0 else 0


def main(argv):
    if len(argv) >= 4 and argv[1] == "basic":
        return basic(argv[2], int(argv[3]))
    if len(argv) >= 5 and argv[1] == "load":
        return load(argv[2], int(argv[3]), argv[4], int(argv[5]) if len(argv) > 5 else 4)
    if len(argv) == 5 and argv[1] == "verify":
        return verify(argv[2], int(argv[3]), argv[4])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
