#!/usr/bin/env python3
"""One process = one phone: drives ntgcalls (2.2.x or 3.0.x) as the "other phone" of an interop test.

Protocol (ntgcalls-peer.md §6): JSON lines. stdin carries ops (`{"op": ...}`), stdout carries only
events (`{"ev": ..., "t_ms": <ms since start>}`); logs go to stderr (`-v`: ntgcalls/webrtc DEBUG,
including decrypted signaling JSON). Bytes are base64, int64 fingerprints decimal strings. Any op
may carry an `id`: the peer answers `done {id, op}` when it finishes, or `error {..., id}`.

Ops
  init      {role: caller|callee, rx_path, uid=1, versions=["9.0.0","8.0.0"], tone_hz=440,
             tone_seconds=5, tone_path?, sample_rate=48000, channels=1, max_lifetime_s=60,
             stats_interval_s=1, g?, p?, random?, servers=[], p2p_allowed=true,
             custom_parameters?, capture=file|bursts, playback=file|timed}
            create_p2p_call, tone file -> CAPTURE (FILE). With g and p (+ optional 256-byte
            server `random`) a caller emits `request` at once. `servers` are RTCServer fields
            {id, ipv4, ipv6="", port, username?, password?, turn=true, stun=false, tcp=false,
            peer_tag? (base64)}: with peer_tag, ntgcalls makes it a Telegram reflector. Latency
            probes (latency_probe.py, 48 kHz mono only): capture=bursts pushes the tone-burst
            signal through EXTERNAL from connect_p2p on, with the hand-over times in
            <rx_path>.mouth; playback=timed takes the received audio through EXTERNAL/on_frames
            into rx_path, times in <rx_path>.ear.
  request   {g_a_hash}            callee: init_exchange -> `accept`
  accepted  {g_b}                 caller: exchange_keys -> `confirm`, [`emojis`], connect
  confirm   {g_a, fingerprint}    callee: exchange_keys (checks hash and fingerprint) -> `keyed`,
                                  [`emojis`], connect. A CryptoError/InvalidParams here ends the
                                  peer with reason key_exchange_failed, exit code 2.
  skip_key  {key (256 bytes), outgoing=role==caller}   skip_exchange, connect
  signal    {data}                incoming blob; queued until connect_p2p returned, then in order
  mute | unmute | stats | hangup

Events
  ready {version, pid, library_versions}
  request {g_a_hash} | accept {g_b} | confirm {g_a, fingerprint} | keyed {fingerprint}
  emojis {emojis, source: get|update}                     3.x only, once per distinct value
  started {connect_p2p_ms, queued_signals, selected_version}   after connect_p2p + PLAYBACK
  signal {data}                                           outgoing blob, in ntgcalls' order
  state {state, kind, since_connect_ms?}                  CONNECTING/CONNECTED/FAILED/TIMEOUT/CLOSED
  remote_source {device, state, ssrc}                     peer's MediaState (mute -> IDLING)
  muted {muted, ok} | stream_end {type, device}
  stats {rx_bytes, cpu_s, capture_s?, playback_s?}        on `stats` and every stats_interval_s
  report {reason: hangup|stdin_closed|lifetime|key_exchange_failed, version, role, rx_path,
          rx_bytes, rx_seconds, sample_rate, channels, cpu_user_s, cpu_sys_s, cpu_s, max_rss_kb,
          setup_ms, final_state, selected_version, signals_in, signals_out, call_s?, call_cpu_s?}
  done {id, op} | error {where, type, message, id?}

Connect is connect_p2p(uid, servers, versions, p2p_allowed[, custom_parameters]) followed by PLAYBACK to rx_path (raw
s16le at sample_rate/channels, MICROPHONE slot). The process exits by itself when stdin closes,
after `hangup`, or after max_lifetime_s (exit code 3); a watchdog kills it 10 s later still.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import math
import os
import re
import resource
import struct
import sys
import threading
import time
from typing import Any, Callable, Optional

import ntgcalls

import latency_probe

log = logging.getLogger("ntgcalls_peer")

NTG_VERSION: str = getattr(ntgcalls, "__version__", "unknown")
# 3.x renamed the signaling pair and made connect_p2p take custom_parameters (no default).
HAS_V3_API = hasattr(ntgcalls.NTgCalls, "send_signaling_data")

TERMINAL_STATES = ("FAILED", "TIMEOUT", "CLOSED")
MAX_LINE = 1 << 20  # an op line longer than this is a protocol error, not something to parse


def b64(data: bytes) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def unb64(text: Any, field: str) -> bytes:
    if not isinstance(text, str):
        raise ValueError(f"field {field} must be a base64 string")
    return base64.b64decode(text, validate=True)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Output:
    """stdout is reserved for JSON lines; one lock keeps lines whole across ntgcalls threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._t0 = time.monotonic()

    def emit(self, ev: str, **fields: Any) -> None:
        fields["ev"] = ev
        fields["t_ms"] = round((time.monotonic() - self._t0) * 1000.0, 3)
        line = json.dumps(fields, separators=(",", ":")) + "\n"
        with self._lock:
            try:
                sys.stdout.write(line)
                sys.stdout.flush()
            except (BrokenPipeError, ValueError):
                pass  # the test side went away; the stdin EOF path ends the process


def write_tone(path: str, hz: float, seconds: float, rate: int, channels: int) -> None:
    """s16le interleaved sine at about -6 dBFS. One second is computed and repeated, which is
    phase-continuous for whole-hertz tones."""
    amp = 0.5 * 32767.0
    step = 2.0 * math.pi * hz / rate
    second = bytearray()
    for i in range(rate):
        second += struct.pack("<h", int(amp * math.sin(step * i))) * channels
    whole, rest = divmod(int(seconds * rate), rate)
    with open(path, "wb") as f:
        for _ in range(whole):
            f.write(second)
        f.write(second[: rest * 2 * channels])


class Peer:
    def __init__(self, out: Output) -> None:
        self.out = out
        self.loop = asyncio.get_running_loop()
        self.ntg = ntgcalls.NTgCalls()  # must be built inside the running loop
        self.ops: asyncio.Queue[Optional[dict]] = asyncio.Queue()
        self.uid = 0
        self.role = ""
        self.cfg: dict = {}
        self.dh: Optional[Any] = None
        self.initialized = False
        self.connect_started: Optional[float] = None
        self.p2p_connected = False  # connect_p2p has returned
        self.pending_signals: list[bytes] = []
        self.connected_at: Optional[float] = None
        self.cpu_at_connected: Optional[float] = None
        self.setup_ms: Optional[float] = None
        self.final_state: Optional[str] = None
        self.dead = asyncio.Event()
        self.finishing = False
        self.rx_path = ""
        self.tone_path = ""
        self.signals_in = 0
        self.signals_out = 0
        self.exit_code = 0
        self.max_lifetime_s = 60.0
        self._lifetime_changed = asyncio.Event()
        self.finished = asyncio.Event()
        self._emoji_lock = threading.Lock()
        self._ntg_lock = asyncio.Lock()
        self._emojis_sent = ""
        self.capture_mode = "file"
        self.playback_mode = "file"
        self.timed: Optional[latency_probe.TimedPlayback] = None
        self.push_task: Optional[asyncio.Task] = None
        self._register_callbacks()

    # ---- callbacks (ntgcalls threads). Never raise: an exception here aborts the process. ----

    def _guard(self, name: str, fn: Callable[..., None]) -> Callable[..., None]:
        def wrapped(*args: Any) -> None:
            try:
                fn(*args)
            except BaseException as exc:  # noqa: BLE001 - must never escape into C++
                try:
                    self.out.emit("error", where=f"callback:{name}", type=type(exc).__name__, message=str(exc))
                except BaseException:
                    pass
        return wrapped

    def _register_callbacks(self) -> None:
        on_sig = self.ntg.on_signaling_data if HAS_V3_API else self.ntg.on_signaling
        on_sig(self._guard("signal", self._on_signal))
        self.ntg.on_connection_change(self._guard("connection", self._on_connection))
        self.ntg.on_remote_source_change(self._guard("remote_source", self._on_remote_source))
        self.ntg.on_stream_end(self._guard("stream_end", self._on_stream_end))
        if hasattr(self.ntg, "on_update_emojis"):
            self.ntg.on_update_emojis(self._guard("emojis", self._on_emojis))
        self.ntg.on_frames(self._guard("frames", self._on_frames))

    def _on_frames(self, uid: int, mode: Any, device: Any, frames: Any) -> None:
        # On the audio thread, every 10 ms: only timestamp and store (latency_probe.TimedPlayback).
        if self.timed is not None and mode == ntgcalls.StreamMode.PLAYBACK and device == ntgcalls.StreamDevice.MICROPHONE:
            self.timed.on_frames(frames)

    def _on_signal(self, uid: int, data: bytes) -> None:
        # Called serialized on ntgcalls' update thread, so emitting here keeps the order.
        self.signals_out += 1
        self.out.emit("signal", data=b64(data))

    def _on_connection(self, uid: int, info: Any) -> None:
        now = time.monotonic()
        state = info.state.name
        fields: dict = {"state": state, "kind": info.kind.name}
        if self.connect_started is not None:
            fields["since_connect_ms"] = round((now - self.connect_started) * 1000.0, 3)
        if state == "CONNECTED" and self.connected_at is None:
            self.connected_at = now
            self.cpu_at_connected = cpu_seconds()
            if self.connect_started is not None:
                self.setup_ms = (now - self.connect_started) * 1000.0
        self.out.emit("state", **fields)
        if state in TERMINAL_STATES:
            self.final_state = state
            self.loop.call_soon_threadsafe(self.dead.set)

    def _on_remote_source(self, uid: int, source: Any) -> None:
        self.out.emit("remote_source", device=source.device.name, state=source.state.name, ssrc=int(source.ssrc))

    def _on_stream_end(self, uid: int, stream_type: Any, device: Any) -> None:
        self.out.emit("stream_end", type=stream_type.name, device=device.name)

    def _on_emojis(self, uid: int, emojis: str) -> None:
        self._emit_emojis(emojis, "update")

    def _emit_emojis(self, emojis: str, source: str) -> None:
        # 3.x reports them twice (on_update_emojis and get_emojis_fingerprint): emit each value once.
        with self._emoji_lock:
            if not emojis or emojis == self._emojis_sent:
                return
            self._emojis_sent = emojis
        self.out.emit("emojis", emojis=emojis, source=source)

    async def _ntg(self, method: str, *args: Any) -> Any:
        """Every ntgcalls call, one at a time: its methods run on a thread pool, and a call that
        overlaps stop() (e.g. time() from the stats task) can touch a destroyed call object."""
        async with self._ntg_lock:
            return await getattr(self.ntg, method)(*args)

    # ---- ops ----

    async def run(self) -> int:
        reader = threading.Thread(target=self._read_stdin, name="stdin", daemon=True)
        reader.start()
        self.out.emit(
            "ready",
            version=NTG_VERSION,
            pid=os.getpid(),
            library_versions=list(ntgcalls.NTgCalls.get_protocol().library_versions),
        )
        tasks = [
            asyncio.create_task(self._op_loop()),
            asyncio.create_task(self._lifetime()),
            asyncio.create_task(self._stats()),
        ]
        finished = asyncio.create_task(self.finished.wait())
        # Ends when the op loop ends (hangup, stdin EOF) or when finish() ran from elsewhere
        # (lifetime) while an op may still be stuck in a native call.
        await asyncio.wait([tasks[0], finished], return_when=asyncio.FIRST_COMPLETED)
        for task in tasks + [finished]:
            task.cancel()
        return self.exit_code

    async def _op_loop(self) -> None:
        while not self.finishing:
            msg = await self.ops.get()
            if msg is None:
                await self.finish("stdin_closed")
                return
            await self._dispatch(msg)

    def _read_stdin(self) -> None:
        try:
            for line in sys.stdin:
                if len(line) > MAX_LINE:
                    self._post({"op": "_bad", "error": "line too long"})
                    continue
                line = line.strip()
                if not line:
                    continue
                try:
                    msg = json.loads(line)
                    if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
                        raise ValueError("not an object with a string 'op'")
                except ValueError as exc:
                    msg = {"op": "_bad", "error": str(exc)}
                self._post(msg)
        except BaseException as exc:  # noqa: BLE001
            log.warning("stdin reader: %r", exc)
        self._post(None)

    def _post(self, msg: Optional[dict]) -> None:
        try:
            self.loop.call_soon_threadsafe(self.ops.put_nowait, msg)
        except RuntimeError:
            pass  # loop already closed

    async def _dispatch(self, msg: dict) -> None:
        op = msg["op"]
        op_id = msg.get("id")
        handler = {
            "init": self.op_init,
            "request": self.op_request,
            "accepted": self.op_accepted,
            "confirm": self.op_confirm,
            "skip_key": self.op_skip_key,
            "signal": self.op_signal,
            "mute": self.op_mute,
            "unmute": self.op_unmute,
            "stats": self.op_stats,
            "hangup": self.op_hangup,
        }.get(op)
        try:
            if op == "_bad":
                raise ValueError(f"bad op line: {msg.get('error')}")
            if handler is None:
                raise ValueError(f"unknown op {op!r}")
            if op not in ("init", "hangup") and not self.initialized:
                raise RuntimeError(f"op {op} before init")
            await handler(msg)
            if op_id is not None and not self.finishing:
                self.out.emit("done", id=op_id, op=op)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an event
            log.exception("op %s failed", op)
            self.out.emit("error", where=f"op:{op}", type=type(exc).__name__, message=str(exc), id=op_id)
            if isinstance(exc, (ntgcalls.CryptoError, ntgcalls.InvalidParams)) and op in ("accepted", "confirm", "request"):
                # A DH or fingerprint mismatch: the call cannot go on (ntgcalls-peer.md §6 step 4).
                self.exit_code = 2
                await self.finish("key_exchange_failed")

    async def op_init(self, msg: dict) -> None:
        if self.initialized:
            raise RuntimeError("init twice")
        role = msg.get("role")
        if role not in ("caller", "callee"):
            raise ValueError("role must be caller or callee")
        self.role = role
        self.uid = int(msg.get("uid", 1))
        rate = int(msg.get("sample_rate", 48000))
        channels = int(msg.get("channels", 1))
        versions = msg.get("versions", ["9.0.0", "8.0.0"])
        if not isinstance(versions, list) or not all(isinstance(v, str) for v in versions) or not versions:
            raise ValueError("versions must be a non-empty list of strings")
        self.rx_path = str(msg["rx_path"])
        self.tone_path = str(msg.get("tone_path") or (self.rx_path + ".tone.raw"))
        self.cfg = {
            "servers": [self._server(x) for x in msg.get("servers", [])],
            "p2p_allowed": bool(msg.get("p2p_allowed", True)),
            "custom_parameters": self._custom(msg.get("custom_parameters")),
            "versions": versions,
            "rate": rate,
            "channels": channels,
            "stats_interval_s": float(msg.get("stats_interval_s", 1.0)),
        }
        self.max_lifetime_s = float(msg.get("max_lifetime_s", 60.0))
        self._lifetime_changed.set()
        # Hard bound even if the event loop wedges inside a native call.
        watchdog = threading.Timer(self.max_lifetime_s + 10.0, lambda: os._exit(4))
        watchdog.daemon = True
        watchdog.start()
        self.capture_mode = str(msg.get("capture", "file"))
        self.playback_mode = str(msg.get("playback", "file"))
        if self.capture_mode not in ("file", "bursts") or self.playback_mode not in ("file", "timed"):
            raise ValueError("capture must be file|bursts, playback file|timed")
        if (self.capture_mode, self.playback_mode) != ("file", "file") and (rate, channels) != (48000, 1):
            raise ValueError("latency probes need 48 kHz mono")
        tone_hz = float(msg.get("tone_hz", 440.0))
        tone_seconds = float(msg.get("tone_seconds", 5.0))
        if self.capture_mode == "file":
            write_tone(self.tone_path, tone_hz, tone_seconds, rate, channels)
        else:
            self.tone_path = ""
        await self._ntg("create_p2p_call", self.uid)
        self.initialized = True
        capture = self._media(self.tone_path, external=self.capture_mode == "bursts")
        await self._ntg("set_stream_sources", self.uid, ntgcalls.StreamMode.CAPTURE, capture)
        if "g" in msg and "p" in msg:
            # `random` is messages.getDhConfig's server randomness (256 bytes, XORed into the secret).
            random = unb64(msg["random"], "random") if "random" in msg else os.urandom(256)
            self.dh = ntgcalls.DhConfig(int(msg["g"]), unb64(msg["p"], "p"), random)
        if self.role == "caller" and self.dh is not None:
            g_a_hash = await self._ntg("init_exchange", self.uid, self.dh, None)
            self.out.emit("request", g_a_hash=b64(g_a_hash))

    @staticmethod
    def _custom(value: Any) -> Optional[str]:
        # 3.x takes the JSON text; an object is serialised here.
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value)

    @staticmethod
    def _server(x: Any) -> Any:
        if not isinstance(x, dict):
            raise ValueError("each server must be an object")
        tag = unb64(x["peer_tag"], "peer_tag") if x.get("peer_tag") is not None else None
        return ntgcalls.RTCServer(
            int(x["id"]), str(x["ipv4"]), str(x.get("ipv6", "")), int(x["port"]),
            x.get("username"), x.get("password"), bool(x.get("turn", True)), bool(x.get("stun", False)),
            bool(x.get("tcp", False)), tag,
        )

    def _media(self, path: str, external: bool = False) -> Any:
        # Every argument given: 3.x declares no defaults; 2.2.x accepts the same positional form.
        source = ntgcalls.MediaSource.EXTERNAL if external else ntgcalls.MediaSource.FILE
        audio = ntgcalls.AudioDescription(source, self.cfg["rate"], self.cfg["channels"], path, False)
        return ntgcalls.MediaDescription(audio, None, None, None)

    async def _send_external(self, frame: bytes) -> None:
        try:
            data = ntgcalls.FrameData()
        except TypeError:
            data = ntgcalls.FrameData(0, 0, 0, 0)  # 2.2.x: no default constructor
        await self._ntg("send_external_frame", self.uid, ntgcalls.StreamDevice.MICROPHONE, frame, data)

    async def op_request(self, msg: dict) -> None:
        if self.role != "callee" or self.dh is None:
            raise RuntimeError("request is for a callee initialised with g and p")
        g_b = await self._ntg("init_exchange", self.uid, self.dh, unb64(msg["g_a_hash"], "g_a_hash"))
        self.out.emit("accept", g_b=b64(g_b))

    async def op_accepted(self, msg: dict) -> None:
        if self.role != "caller" or self.dh is None:
            raise RuntimeError("accepted is for a caller initialised with g and p")
        auth = await self._ntg("exchange_keys", self.uid, unb64(msg["g_b"], "g_b"), 0)
        self.out.emit("confirm", g_a=b64(auth.g_a_or_b), fingerprint=str(int(auth.key_fingerprint)))
        await self._emojis()
        await self._connect()

    async def op_confirm(self, msg: dict) -> None:
        if self.role != "callee" or self.dh is None:
            raise RuntimeError("confirm is for a callee initialised with g and p")
        fingerprint = int(str(msg["fingerprint"]))
        auth = await self._ntg("exchange_keys", self.uid, unb64(msg["g_a"], "g_a"), fingerprint)
        self.out.emit("keyed", fingerprint=str(int(auth.key_fingerprint)))
        await self._emojis()
        await self._connect()

    async def op_skip_key(self, msg: dict) -> None:
        key = unb64(msg["key"], "key")
        if len(key) != 256:
            raise ValueError("skip_key needs exactly 256 key bytes")  # ntgcalls memcpy's 256
        outgoing = bool(msg.get("outgoing", self.role == "caller"))
        await self._ntg("skip_exchange", self.uid, key, outgoing)
        await self._connect()

    async def _emojis(self) -> None:
        if not hasattr(self.ntg, "get_emojis_fingerprint"):
            return
        self._emit_emojis(await self._ntg("get_emojis_fingerprint", self.uid), "get")

    async def _connect(self) -> None:
        versions = self.cfg["versions"]
        self.connect_started = time.monotonic()
        servers, p2p = self.cfg["servers"], self.cfg["p2p_allowed"]
        if HAS_V3_API:
            await self._ntg("connect_p2p", self.uid, servers, versions, p2p, self.cfg["custom_parameters"])
        else:
            await self._ntg("connect_p2p", self.uid, servers, versions, p2p)
        self.p2p_connected = True
        connect_ms = (time.monotonic() - self.connect_started) * 1000.0
        # Received audio lands in the PLAYBACK microphone slot; set after connect_p2p (§1.4).
        if self.playback_mode == "timed":
            self.timed = latency_probe.TimedPlayback(self.rx_path)
            await self._ntg("set_stream_sources", self.uid, ntgcalls.StreamMode.PLAYBACK, self._media("", external=True))
        else:
            await self._ntg("set_stream_sources", self.uid, ntgcalls.StreamMode.PLAYBACK, self._media(self.rx_path))
        if self.capture_mode == "bursts":
            # Continuous outbound audio from the start, as a microphone would (§1.4, issue #44 hint).
            self.push_task = asyncio.create_task(
                latency_probe.push_bursts(self._send_external, self.rx_path + ".mouth", lambda: self.finishing or self.dead.is_set())
            )
        self.out.emit(
            "started",
            connect_p2p_ms=round(connect_ms, 3),
            queued_signals=len(self.pending_signals),
            selected_version=SELECTED_VERSION[-1] if SELECTED_VERSION else None,
        )
        # Blobs that arrived before connect_p2p would be refused; replay them in order (§6 step 5).
        pending, self.pending_signals = self.pending_signals, []
        for blob in pending:
            await self._send_signal(blob)

    async def _send_signal(self, blob: bytes) -> None:
        self.signals_in += 1
        if HAS_V3_API:
            await self._ntg("send_signaling_data", self.uid, blob)
        else:
            await self._ntg("send_signaling", self.uid, blob)

    async def op_signal(self, msg: dict) -> None:
        blob = unb64(msg["data"], "data")
        if not self.p2p_connected:
            self.pending_signals.append(blob)
            return
        if self.dead.is_set():
            return  # ntgcalls removed the call on a terminal state; nothing to feed
        await self._send_signal(blob)

    async def op_mute(self, msg: dict) -> None:
        ok = await self._ntg("mute", self.uid)
        self.out.emit("muted", muted=True, ok=bool(ok))

    async def op_unmute(self, msg: dict) -> None:
        ok = await self._ntg("unmute", self.uid)
        self.out.emit("muted", muted=False, ok=bool(ok))

    async def op_stats(self, msg: dict) -> None:
        await self._emit_stats()

    async def op_hangup(self, msg: dict) -> None:
        await self.finish("hangup")

    # ---- lifetime, stats, teardown ----

    async def _lifetime(self) -> None:
        started = time.monotonic()
        while True:
            left = started + self.max_lifetime_s - time.monotonic()
            if left <= 0:
                break
            self._lifetime_changed.clear()
            try:
                await asyncio.wait_for(self._lifetime_changed.wait(), timeout=left)
            except asyncio.TimeoutError:
                pass
        self.out.emit("error", where="lifetime", type="Timeout", message=f"max lifetime {self.max_lifetime_s}s reached")
        self.exit_code = 3
        await self.finish("lifetime")

    async def _stats(self) -> None:
        while True:
            interval = self.cfg.get("stats_interval_s", 1.0) if self.cfg else 1.0
            await asyncio.sleep(interval if interval > 0 else 1.0)
            if interval > 0 and self.connected_at is not None and not self.dead.is_set() and not self.finishing:
                try:
                    await self._emit_stats()
                except Exception as exc:  # noqa: BLE001
                    log.debug("stats: %r", exc)

    async def _emit_stats(self) -> None:
        fields: dict = {"rx_bytes": self._rx_bytes(), "cpu_s": round(cpu_seconds(), 4)}
        if self.initialized and not self.dead.is_set() and not self.finishing:
            try:
                fields["capture_s"] = int(await self._ntg("time", self.uid, ntgcalls.StreamMode.CAPTURE))
                fields["playback_s"] = int(await self._ntg("time", self.uid, ntgcalls.StreamMode.PLAYBACK))
            except Exception as exc:  # noqa: BLE001 - the call may be gone already
                fields["time_error"] = type(exc).__name__
        self.out.emit("stats", **fields)

    def _rx_bytes(self) -> int:
        try:
            return os.path.getsize(self.rx_path) if self.rx_path else 0
        except OSError:
            return 0

    async def finish(self, reason: str) -> None:
        if self.finishing:
            return
        self.finishing = True
        ended = time.monotonic()
        cpu_end = cpu_seconds()
        if self.initialized and not self.dead.is_set():
            try:
                await asyncio.wait_for(self._ntg("stop", self.uid), timeout=5.0)
            except Exception as exc:  # noqa: BLE001 - ConnectionNotFound after auto-removal is fine
                log.debug("stop: %r", exc)
        if self.push_task is not None:
            self.push_task.cancel()
        if self.timed is not None:
            self.timed.close()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        rx_bytes = self._rx_bytes()
        frame = 2 * self.cfg.get("channels", 1) if self.cfg else 2
        rate = self.cfg.get("rate", 48000) if self.cfg else 48000
        report: dict = {
            "reason": reason,
            "version": NTG_VERSION,
            "role": self.role,
            "rx_path": self.rx_path,
            "rx_bytes": rx_bytes,
            "rx_seconds": round(rx_bytes / (frame * rate), 3),
            "sample_rate": rate,
            "channels": self.cfg.get("channels", 1) if self.cfg else 1,
            "cpu_user_s": round(usage.ru_utime, 4),
            "cpu_sys_s": round(usage.ru_stime, 4),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
            "max_rss_kb": usage.ru_maxrss,
            "setup_ms": None if self.setup_ms is None else round(self.setup_ms, 3),
            "final_state": self.final_state,
            "selected_version": SELECTED_VERSION[-1] if SELECTED_VERSION else None,
            "signals_in": self.signals_in,
            "signals_out": self.signals_out,
        }
        if self.connected_at is not None and self.cpu_at_connected is not None:
            call_s = max(ended - self.connected_at, 1e-6)
            report["call_s"] = round(call_s, 4)
            report["call_cpu_s"] = round(cpu_end - self.cpu_at_connected, 4)
        self.out.emit("report", **report)
        try:
            if self.tone_path:
                os.unlink(self.tone_path)
        except OSError:
            pass
        self.finished.set()


SELECTED_VERSION: list = []  # filled from ntgcalls' log by VersionSniffer


class VersionSniffer(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        try:
            # The message carries a source prefix: "signaling.cpp:43 Selected version: 8.0.0".
            found = re.search(r"Selected version: (\S+)", record.getMessage())
            if found:
                SELECTED_VERSION.append(found.group(1))
        except Exception:  # noqa: BLE001 - logging must never raise into ntgcalls
            pass


async def main(args: argparse.Namespace) -> int:
    return await Peer(Output()).run()


def cli() -> None:
    # ntgcalls crashes in its own teardown now and then (2.2.5: abort; 3.0.5: SIGSEGV in stop() with
    # a TCP reflector): no core file in the test's working directory.
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (ValueError, OSError):
        pass
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="ntgcalls/webrtc DEBUG logs on stderr")
    args = parser.parse_args()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG if args.verbose else logging.WARNING)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # ntgcalls at INFO even when quiet: its "Selected version: X" line is how we learn the
    # negotiated protocol version (VersionSniffer); the stderr handler still filters by level.
    logging.getLogger("ntgcalls").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    logging.getLogger("ntgcalls").addHandler(VersionSniffer())
    logging.getLogger("webrtc").setLevel(logging.DEBUG if args.verbose else logging.CRITICAL)
    try:
        code = asyncio.run(main(args))
    except BaseException as exc:  # noqa: BLE001
        log.exception("peer crashed")
        Output().emit("error", where="main", type=type(exc).__name__, message=str(exc))
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    # ntgcalls' native threads can keep the interpreter alive; the report is already out.
    os._exit(code)


if __name__ == "__main__":
    cli()
