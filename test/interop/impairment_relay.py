#!/usr/bin/env python3
"""A userspace impairment link between two network namespaces (this kernel has no netem).

Two TUN devices (IFF_TUN | IFF_NO_PI: raw IP packets, no ARP) are created in the namespace this
process runs in; the caller moves each into the namespace of one end and gives it an address in a
shared /24 (impairment-relay.ts). Every IP packet one end sends into its device is read here and,
unless lost, written into the other device after a delay: the two ends see a plain routed link
with loss, delay and jitter, as `tc qdisc add ... netem loss 10% delay 60ms 30ms` would give.

  impairment_relay.py --tun-a NAME --tun-b NAME [--loss 0.1] [--delay-ms 60] [--jitter-ms 30]
                      [--seed N] [--no-reorder] [--max-lifetime-s 900] [--trace PATH]

Loss is independent per packet; the delay is uniform in [delay - jitter, delay + jitter] per
packet, so packets may overtake each other as with netem (--no-reorder keeps each direction in
order instead). Both directions are impaired alike.

stdout carries JSON lines: {"ev": "ready", "tun_a", "tun_b"} once the devices exist, then one line
per answered op. stdin takes JSON ops:
  {"op": "set", "loss"?, "delay_ms"?, "jitter_ms"?, "down"?}   change the impairment (down: drop all)
  {"op": "stats"}                                              counters per direction
The process exits on stdin EOF or after --max-lifetime-s; the TUN devices vanish with it.

--trace PATH writes one line per packet read (tab-separated): monotonic time in ns, direction
(ab/ba), length, what it is (stun:<type>, dtls:<content>[:<handshake>], rtp, rtcp, other), and
either "drop" or the delivery time in ns. Monotonic time is CLOCK_MONOTONIC, the clock of Node's
process.hrtime and of the ntgcalls peer's timestamps.
"""
from __future__ import annotations

import argparse
import fcntl
import heapq
import json
import os
import random
import select
import struct
import sys
import time
from typing import Optional

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
MAX_IN_FLIGHT = 5000  # packets held for delivery, both directions: bounded memory
MAX_PACKET = 65536


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    return fd


DTLS_CONTENT = {20: "ccs", 21: "alert", 22: "hs", 23: "app"}
DTLS_HANDSHAKE = {0: "hello_request", 1: "client_hello", 2: "server_hello", 3: "hello_verify", 4: "ticket",
                  11: "certificate", 12: "server_key_exchange", 13: "certificate_request", 14: "server_hello_done",
                  15: "certificate_verify", 16: "client_key_exchange", 20: "finished"}
STUN_TYPES = {0x0001: "binding_request", 0x0101: "binding_success", 0x0111: "binding_error", 0x0011: "binding_indication"}


def classify(packet: bytes) -> str:
    """What a packet carries, RFC 7983 demultiplexing on the first byte of the UDP payload."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return "other"
    ihl = (packet[0] & 0x0F) * 4
    if packet[9] != 17 or len(packet) < ihl + 9:
        return "other"
    udp = packet[ihl + 8:]
    first = udp[0]
    if first <= 3 and len(udp) >= 2:
        kind = struct.unpack("!H", udp[0:2])[0]
        return "stun:" + STUN_TYPES.get(kind, hex(kind))
    if 20 <= first <= 63 and len(udp) >= 13:
        content = DTLS_CONTENT.get(first, str(first))
        epoch = struct.unpack("!H", udp[3:5])[0]
        if first == 22 and epoch == 0 and len(udp) >= 14:
            return "dtls:hs:" + DTLS_HANDSHAKE.get(udp[13], str(udp[13]))
        return "dtls:" + content + (":e%d" % epoch if epoch else "")
    if 128 <= first <= 191 and len(udp) >= 2:
        return "rtcp" if 192 <= udp[1] <= 223 else "rtp"
    return "other"


class Direction:
    def __init__(self, name: str) -> None:
        self.name = name
        self.packets = 0
        self.bytes = 0
        self.dropped = 0
        self.delivered = 0
        self.overflow = 0
        self.last_due = 0

    def stats(self) -> dict:
        return {"packets": self.packets, "bytes": self.bytes, "dropped": self.dropped, "delivered": self.delivered, "overflow": self.overflow}


class Relay:
    def __init__(self, args: argparse.Namespace) -> None:
        self.loss = float(args.loss)
        self.delay_ns = int(float(args.delay_ms) * 1e6)
        self.jitter_ns = int(float(args.jitter_ms) * 1e6)
        self.reorder = not args.no_reorder
        self.down = False
        self.rng = random.Random(args.seed)
        self.fd_a = open_tun(args.tun_a)
        self.fd_b = open_tun(args.tun_b)
        self.ab = Direction("ab")
        self.ba = Direction("ba")
        self.queue: list = []  # (due_ns, counter, fd, packet)
        self.counter = 0
        self.deadline = time.monotonic() + float(args.max_lifetime_s)
        self.trace = open(args.trace, "w", buffering=1 << 16) if args.trace else None
        self.stdin_buf = b""

    def emit(self, ev: str, **fields) -> None:
        fields["ev"] = ev
        sys.stdout.write(json.dumps(fields, separators=(",", ":")) + "\n")
        sys.stdout.flush()

    def ingest(self, fd_in: int, fd_out: int, d: Direction) -> None:
        for _ in range(64):  # bounded per wake-up
            try:
                packet = os.read(fd_in, MAX_PACKET)
            except BlockingIOError:
                return
            now = time.monotonic_ns()
            d.packets += 1
            d.bytes += len(packet)
            lost = self.down or self.rng.random() < self.loss
            due = 0
            if lost:
                d.dropped += 1
            elif len(self.queue) >= MAX_IN_FLIGHT:
                d.overflow += 1
                lost = True
            else:
                due = now + max(0, self.delay_ns + int(self.rng.uniform(-self.jitter_ns, self.jitter_ns)))
                if not self.reorder:
                    due = max(due, d.last_due)
                d.last_due = due
                self.counter += 1
                heapq.heappush(self.queue, (due, self.counter, fd_out, packet, d))
            if self.trace:
                self.trace.write("%d\t%s\t%d\t%s\t%s\n" % (now, d.name, len(packet), classify(packet), "drop" if lost else due))

    def deliver(self) -> None:
        now = time.monotonic_ns()
        while self.queue and self.queue[0][0] <= now:
            _, _, fd, packet, d = heapq.heappop(self.queue)
            try:
                os.write(fd, packet)
                d.delivered += 1
            except OSError:
                d.overflow += 1  # the device is gone or full: a loss like any other

    def control(self) -> bool:
        chunk = os.read(0, 65536)
        if not chunk:
            return False
        self.stdin_buf += chunk
        while b"\n" in self.stdin_buf:
            line, self.stdin_buf = self.stdin_buf.split(b"\n", 1)
            if not line.strip():
                continue
            try:
                msg = json.loads(line)
                op = msg.get("op")
                if op == "set":
                    if "loss" in msg:
                        self.loss = min(1.0, max(0.0, float(msg["loss"])))
                    if "delay_ms" in msg:
                        self.delay_ns = int(max(0.0, float(msg["delay_ms"])) * 1e6)
                    if "jitter_ms" in msg:
                        self.jitter_ns = int(max(0.0, float(msg["jitter_ms"])) * 1e6)
                    if "down" in msg:
                        self.down = bool(msg["down"])
                    self.emit("set", id=msg.get("id"))
                elif op == "stats":
                    self.emit("stats", id=msg.get("id"), ab=self.ab.stats(), ba=self.ba.stats(), in_flight=len(self.queue))
                else:
                    self.emit("error", id=msg.get("id"), message="unknown op %r" % (op,))
            except (ValueError, TypeError) as exc:
                self.emit("error", message=str(exc))
        return True

    def run(self) -> int:
        self.emit("ready", pid=os.getpid())
        while time.monotonic() < self.deadline:
            timeout = 0.2
            if self.queue:
                timeout = min(timeout, max(0.0, (self.queue[0][0] - time.monotonic_ns()) / 1e9))
            readable, _, _ = select.select([self.fd_a, self.fd_b, 0], [], [], timeout)
            if self.fd_a in readable:
                self.ingest(self.fd_a, self.fd_b, self.ab)
            if self.fd_b in readable:
                self.ingest(self.fd_b, self.fd_a, self.ba)
            if 0 in readable and not self.control():
                break
            self.deliver()
        if self.trace:
            self.trace.close()
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tun-a", required=True)
    parser.add_argument("--tun-b", required=True)
    parser.add_argument("--loss", default="0")
    parser.add_argument("--delay-ms", default="0")
    parser.add_argument("--jitter-ms", default="0")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--no-reorder", action="store_true")
    parser.add_argument("--max-lifetime-s", default="900")
    parser.add_argument("--trace", default=None)
    args = parser.parse_args()
    try:
        return Relay(args).run()
    except OSError as exc:
        sys.stdout.write(json.dumps({"ev": "error", "message": str(exc)}) + "\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
