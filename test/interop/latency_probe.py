"""Mouth-to-ear latency probes for the ntgcalls peer (ntgcalls_peer.py `capture: bursts`,
`playback: timed`).

The signal is test/helpers/tone-bursts.ts's: a quiet 440 Hz tone with a loud burst every 500 ms,
burst k at 600 + 150 * (k mod 5) Hz for 100 ms. Keep the constants in step with the TS file.

- Capture: 10 ms frames of the signal pushed through send_external_frame on a real-time
  schedule; the CLOCK_MONOTONIC time each frame was handed over goes to `<path>` as int64 ns,
  one per frame (the mouth time of its first sample).
- Playback: EXTERNAL playback delivers each 10 ms frame ntgcalls' audio device pulls out of
  NetEq to on_frames; its PCM is appended to `rx_path` and the monotonic time of the callback to
  `<rx_path>.ear` (int64 ns per frame: the ear time of its first sample).
"""
from __future__ import annotations

import asyncio
import math
import struct
import threading
import time
from typing import Any, Awaitable, Callable

RATE = 48000
FRAME = RATE // 100  # 10 ms
PERIOD_MS = 500
BURST_MS = 100
FREQS = (600, 750, 900, 1050, 1200)
BASE_HZ = 440
BASE_AMP = 0.05
BURST_AMP = 0.5


def burst_signal_cycle() -> bytes:
    """One full cycle of the signal (len(FREQS) bursts, 2.5 s), s16le mono; it repeats exactly."""
    period = PERIOD_MS * RATE // 1000
    burst = BURST_MS * RATE // 1000
    out = bytearray()
    base_phase = 0.0
    burst_phase = 0.0
    for n in range(period * len(FREQS)):
        k = n // period
        base_phase += 2 * math.pi * BASE_HZ / RATE
        v = BASE_AMP * math.sin(base_phase)
        if n - k * period < burst:
            burst_phase += 2 * math.pi * FREQS[k % len(FREQS)] / RATE
            v = BURST_AMP * math.sin(burst_phase)
        else:
            burst_phase = 0.0
        out += struct.pack("<h", int(round(v * 32767)))
    return bytes(out)


async def push_bursts(send: Callable[[bytes], Awaitable[Any]], times_path: str, stop: Callable[[], bool]) -> None:
    """Pushes the signal in 10 ms frames, one every 10 ms of CLOCK_MONOTONIC, until `stop()`.
    Like a microphone, a frame that is due is sent even when the loop ran late (no skipping: a
    late frame is simply late, and its recorded time says so)."""
    cycle = burst_signal_cycle()
    frame_bytes = FRAME * 2
    start = time.monotonic()
    i = 0
    with open(times_path, "wb") as times:
        while not stop():
            delay = start + i * 0.01 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            offset = (i * frame_bytes) % len(cycle)
            frame = cycle[offset:offset + frame_bytes]
            times.write(struct.pack("<q", time.monotonic_ns()))
            try:
                await send(frame)
            except Exception:  # noqa: BLE001 - the call may be ending; the caller stops us
                return
            i += 1


class TimedPlayback:
    """on_frames sink: PCM to rx_path, one monotonic ns stamp per frame to rx_path + '.ear'."""

    def __init__(self, rx_path: str) -> None:
        self._lock = threading.Lock()
        self._pcm = open(rx_path, "wb")
        self._times = open(rx_path + ".ear", "wb")
        self.frames = 0

    def on_frames(self, frames: Any) -> None:
        now = time.monotonic_ns()
        if not frames:
            return
        data = bytes(frames[0].data)
        with self._lock:
            if self._pcm.closed:
                return
            self._pcm.write(data)
            self._times.write(struct.pack("<q", now))
            self.frames += 1

    def close(self) -> None:
        with self._lock:
            self._pcm.close()
            self._times.close()
