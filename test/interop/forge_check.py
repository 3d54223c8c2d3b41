#!/usr/bin/env python3
"""A forged ICE check from a new address (issue 13 item 4: a forged check must never move the call).

Runs inside one phone's namespace (b), as an on-path attacker there would: it watches b's veth
(AF_PACKET, needs root) for the first STUN Binding request the other phone (a) sends to b, and so
learns what travels in clear — USERNAME "<b ufrag>:<a ufrag>", a's address and port — but never
a's ICE password. It prints {"seen": {"address", "port", "username"}}.

Then each stdin line `fire <count> <source ip>` sends `count` Binding requests to a, 50 ms apart,
from <source ip> (an address the test added in b's namespace): USERNAME "<a ufrag>:<b ufrag>",
PRIORITY, ICE-CONTROLLED with a random tie-breaker, USE-CANDIDATE, a MESSAGE-INTEGRITY made with
a wrong password and a correct FINGERPRINT — a check that passes every test but the HMAC
(RFC 8489 §14.5, §14.7; RFC 8445 §7.1.2). It prints {"sent": n}.

Usage: forge_check.py <veth> <b's address>. Exits on stdin EOF, or after 120 s whatever happens.
"""
import hashlib
import hmac
import json
import os
import socket
import struct
import sys
import threading
import time
import zlib

MAGIC = 0x2112A442
BINDING_REQUEST = 0x0001
USERNAME, MESSAGE_INTEGRITY, PRIORITY, USE_CANDIDATE, FINGERPRINT, ICE_CONTROLLED = 0x0006, 0x0008, 0x0024, 0x0025, 0x8028, 0x8029
LIFETIME_S = 120.0


def say(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def attribute(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def username_of(payload):
    """USERNAME of a STUN Binding request, or None."""
    if len(payload) < 20:
        return None
    kind, length, cookie = struct.unpack("!HHI", payload[:8])
    if kind != BINDING_REQUEST or cookie != MAGIC or 20 + length > len(payload):
        return None
    at = 20
    while at + 4 <= 20 + length:
        a_kind, a_len = struct.unpack("!HH", payload[at:at + 4])
        if a_kind == USERNAME:
            return payload[at + 4:at + 4 + a_len].decode("utf-8", "replace")
        at += 4 + a_len + (4 - a_len % 4) % 4
    return None


def sniff(iface, own_address, deadline):
    """The first Binding request to `own_address` seen on `iface`: (source ip, source port, USERNAME)."""
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(0x0800))
    raw.bind((iface, 0x0800))
    raw.settimeout(0.5)
    try:
        while time.monotonic() < deadline:
            try:
                packet = raw.recv(65535)
            except socket.timeout:
                continue
            if len(packet) < 28 or packet[9] != 17 or socket.inet_ntoa(packet[16:20]) != own_address:
                continue
            ihl = (packet[0] & 0x0F) * 4
            source_port = struct.unpack("!H", packet[ihl:ihl + 2])[0]
            name = username_of(packet[ihl + 8:])
            if name and ":" in name:
                return socket.inet_ntoa(packet[12:16]), source_port, name
    finally:
        raw.close()
    return None


def forged(username):
    transaction = os.urandom(12)
    body = attribute(USERNAME, username.encode())
    body += attribute(PRIORITY, struct.pack("!I", 0x6E7F1EFF))
    body += attribute(ICE_CONTROLLED, os.urandom(8))
    body += attribute(USE_CANDIDATE, b"")
    # MESSAGE-INTEGRITY over the header with the length up to and including it (RFC 8489 §14.5),
    # keyed with a password that is not the victim's.
    header = struct.pack("!HHI", BINDING_REQUEST, len(body) + 24, MAGIC) + transaction
    body += attribute(MESSAGE_INTEGRITY, hmac.new(b"not-the-ice-password-of-a", header + body, hashlib.sha1).digest())
    header = struct.pack("!HHI", BINDING_REQUEST, len(body) + 8, MAGIC) + transaction
    crc = (zlib.crc32(header + body) ^ 0x5354554E) & 0xFFFFFFFF
    return header + body + attribute(FINGERPRINT, struct.pack("!I", crc))


def main():
    iface, own_address = sys.argv[1], sys.argv[2]
    threading.Timer(LIFETIME_S, lambda: os._exit(3)).start()
    seen = sniff(iface, own_address, time.monotonic() + 60.0)
    if not seen:
        say({"error": "no Binding request seen"})
        return 2
    address, port, name = seen
    theirs, ours = name.split(":", 1)  # "<b ufrag>:<a ufrag>" as a sent it to b
    say({"seen": {"address": address, "port": port, "username": name}})
    for line in sys.stdin:
        parts = line.split()
        if len(parts) != 3 or parts[0] != "fire":
            continue
        count, source = int(parts[1]), parts[2]
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sender.bind((source, 0))
        for _ in range(max(0, min(count, 100))):
            sender.sendto(forged(f"{ours}:{theirs}"), (address, port))
            time.sleep(0.05)
        sender.close()
        say({"sent": count, "from": source})
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)
