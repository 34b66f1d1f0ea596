#!/usr/bin/python3
"""A faulty Ethernet cable between two tap devices, in user space.

    fault-wire.py --tap-a NAME --tap-b NAME [--loss P] [--dup P] [--reorder P]
                  [--seed N] [--ready FILE]

Creates both taps (in the caller's network namespace; move them elsewhere with
`ip link set NAME netns NS` once FILE exists) and copies every frame from one to
the other, with the faults Gantry's --net-faults applies (hosted/net/fault_nic):
a frame is lost with probability loss%, else sent twice with probability dup%,
and each copy is held back 1 ms with probability reorder% so that later frames
overtake it. Percentages are per direction. Exists because this machine's
kernel has no netem qdisc, so Linux-to-Linux runs under the same faults need
a wire of their own (scripts/bench-httpd-faults). SIGTERM prints the counts
and exits 0.
"""
import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000
FRAME_BYTES_MAX = 65536
READS_PER_WAKE_MAX = 64
HOLD_S = 0.001


def open_tap(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    return fd


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tap-a", required=True)
    parser.add_argument("--tap-b", required=True)
    parser.add_argument("--loss", type=float, default=0.0, help="percent")
    parser.add_argument("--dup", type=float, default=0.0, help="percent")
    parser.add_argument("--reorder", type=float, default=0.0, help="percent")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--ready", help="file created once both taps exist")
    args = parser.parse_args()
    for name in ("loss", "dup", "reorder"):
        value = getattr(args, name)
        if not 0 <= value <= 100:
            sys.exit(f"fault-wire.py: --{name} {value}: not a percentage in 0..100")

    rng = random.Random(args.seed)
    fd_a, fd_b = open_tap(args.tap_a), open_tap(args.tap_b)
    peer = {fd_a: fd_b, fd_b: fd_a}
    counts = {"forwarded": 0, "lost": 0, "duplicated": 0, "reordered": 0, "write_failed": 0}
    held = []  # (due, order, fd, frame)
    order = 0
    if args.ready:
        open(args.ready, "w").close()

    def stop(*_):
        print("fault-wire: " + ", ".join(f"{v} {k}" for k, v in counts.items()), flush=True)
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def write(fd, frame):
        try:
            os.write(fd, frame)
            counts["forwarded"] += 1
        except (BlockingIOError, OSError):
            counts["write_failed"] += 1  # the tap's queue is full: the wire drops it

    poller = select.poll()
    poller.register(fd_a, select.POLLIN)
    poller.register(fd_b, select.POLLIN)
    while True:
        timeout_ms = None
        if held:
            timeout_ms = max(0.0, (held[0][0] - time.monotonic()) * 1000)
        for fd, _ in poller.poll(timeout_ms):
            for _ in range(READS_PER_WAKE_MAX):
                try:
                    frame = os.read(fd, FRAME_BYTES_MAX)
                except BlockingIOError:
                    break
                if rng.random() * 100 < args.loss:
                    counts["lost"] += 1
                    continue
                copies = 2 if rng.random() * 100 < args.dup else 1
                counts["duplicated"] += copies - 1
                for _ in range(copies):
                    if rng.random() * 100 < args.reorder:
                        counts["reordered"] += 1
                        order += 1
                        heapq.heappush(held, (time.monotonic() + HOLD_S, order, peer[fd], frame))
                    else:
                        write(peer[fd], frame)
        now = time.monotonic()
        while held and held[0][0] <= now:
            _, _, fd, frame = heapq.heappop(held)
            write(fd, frame)


if __name__ == "__main__":
    main()
