#!/usr/bin/python3
"""Hostile segments against an established connection to Gantry's TCP echo.

Opens a real connection with Linux's TCP, learns both sides' sequence numbers
by sniffing the tap, then injects (with scapy) segments a blind attacker could
send: RSTs and SYNs with out-of-window sequence numbers, and an in-window RST
whose sequence number is not the exact one. RFC 5961 says none of them may
kill the connection; the in-window ones must draw a challenge ACK. Then the
connection must still echo. Prints what it saw; exits 1 on any violation.

usage: tcp-abuse.py TAP GANTRY_IP PEER_IP
(/usr/bin/python3: Debian's scapy is not visible to a pyenv python3.)
"""
import socket
import sys
import time

from scapy.all import IP, TCP, AsyncSniffer, conf, send  # noqa: E402

conf.verb = 0


def echo(sock, payload):
    sock.sendall(payload)
    got = b""
    sock.settimeout(5)
    while len(got) < len(payload):
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed by Gantry")
        got += chunk
    if got != payload:
        raise RuntimeError("echo differs")


def main():
    tap, gantry, peer = sys.argv[1:4]
    sniffer = AsyncSniffer(iface=tap, filter="tcp port 7", store=True)
    sniffer.start()
    time.sleep(0.5)
    sock = socket.create_connection((gantry, 7), timeout=5)
    lport = sock.getsockname()[1]
    echo(sock, b"a" * 100)
    time.sleep(0.3)
    seen = sniffer.stop()
    from_gantry = [p for p in seen if p[IP].src == gantry and p[TCP].dport == lport]
    from_peer = [p for p in seen if p[IP].src == peer and p[TCP].sport == lport]
    if not from_gantry or not from_peer:
        print("FAIL: sniffed no segments of the connection")
        return 1
    last_gantry = from_gantry[-1][TCP]
    gantry_nxt = last_gantry.seq + len(last_gantry.payload)
    peer_nxt = last_gantry.ack  # what Gantry expects next from us
    print(f"connection {peer}:{lport} -> {gantry}:7, gantry snd.nxt {gantry_nxt}, "
          f"rcv.nxt {peer_nxt}")

    sniffer = AsyncSniffer(iface=tap, filter=f"tcp and src host {gantry} and dst port {lport}",
                           store=True)
    sniffer.start()
    time.sleep(0.5)
    attacks = [
        ("RST far beyond the window", dict(flags="R", seq=(peer_nxt + 2**30) % 2**32)),
        ("RST far before the window", dict(flags="R", seq=(peer_nxt - 2**30) % 2**32)),
        ("RST in the window, not exact", dict(flags="R", seq=(peer_nxt + 1000) % 2**32)),
        ("SYN in the synchronized state", dict(flags="S", seq=(peer_nxt + 2**31) % 2**32)),
        ("SYN+FIN", dict(flags="SF", seq=peer_nxt)),
        ("ACK for data never sent", dict(flags="A", seq=peer_nxt,
                                         ack=(gantry_nxt + 2**20) % 2**32)),
    ]
    for name, fields in attacks:
        send(IP(src=peer, dst=gantry) / TCP(sport=lport, dport=7, window=65535, **fields))
        print(f"sent: {name}")
        time.sleep(0.1)
    time.sleep(0.5)
    answers = sniffer.stop()
    challenge_acks = [p for p in answers
                      if p[TCP].flags == "A" and len(p[TCP].payload) == 0]
    resets = [p for p in answers if "R" in str(p[TCP].flags)]
    print(f"gantry answered with {len(challenge_acks)} bare ACK(s) and {len(resets)} RST(s)")
    if resets:
        print("FAIL: Gantry reset the connection")
        return 1
    if not challenge_acks:
        print("FAIL: no challenge ACK for the in-window RST or the SYN (RFC 5961 3.2, 4.2)")
        return 1
    try:
        echo(sock, bytes(range(256)) * 40)
    except (OSError, RuntimeError) as error:
        print(f"FAIL: the connection no longer echoes after the attack: {error}")
        return 1
    print("the connection still echoes 10240 bytes after the attack")
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
