"""An asyncio TCP fault proxy for loopback fault runs (security.md T37): toxiproxy is not available here.

One proxy listens on a free 127.0.0.1 port and forwards to a target. Its mode applies at once to new and
established connections:

- ``pass``: forward both ways;
- ``delay``: every chunk is held ``delay`` seconds before it is forwarded (added latency);
- ``blackhole``: connections are accepted and kept, every byte is swallowed, nothing comes back;
- ``rst``: new connections are reset at once, established ones on their next chunk (SO_LINGER 0);
- ``cut``: each connection forwards ``cut_after`` bytes (both directions together), then is reset.

In a test: ``proxy = FaultProxy(target_port).start()``, point the application at ``proxy.port``, then
``proxy.set("delay", delay=2)`` … ``proxy.set("pass")``; ``proxy.stop()`` at the end. From a shell:
``python tests/faultproxy.py --target 127.0.0.1:5432 --listen 6543 --mode delay --delay 2``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import struct
import threading
from dataclasses import dataclass, field

MODES = ("pass", "delay", "blackhole", "rst", "cut")


@dataclass
class Fault:
    mode: str = "pass"
    delay: float = 0.0
    cut_after: int = 0


@dataclass
class FaultProxy:
    target_port: int
    target_host: str = "127.0.0.1"
    listen_port: int = 0
    fault: Fault = field(default_factory=Fault)
    connections: int = 0
    port: int = 0

    def __post_init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.base_events.Server | None = None
        self._thread: threading.Thread | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    # --- control (any thread) -----------------------------------------------------------------

    def set(self, mode: str, *, delay: float = 0.0, cut_after: int = 0) -> FaultProxy:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {MODES}")
        self.fault = Fault(mode=mode, delay=delay, cut_after=cut_after)  # one assignment: seen whole
        if mode == "rst" and self._loop is not None:
            self._loop.call_soon_threadsafe(self._reset_all)
        return self

    def start(self) -> FaultProxy:
        started = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(self._listen())
            started.set()
            self._loop.run_forever()
            self._loop.close()

        self._thread = threading.Thread(target=run, name=f"faultproxy-{self.target_port}", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fault proxy did not start")
        return self

    def stop(self) -> None:
        if self._loop is None:
            return

        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            self._reset_all()

        asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    # --- the proxy (its own loop) -------------------------------------------------------------

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.listen_port)
        self.port = self._server.sockets[0].getsockname()[1]

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            _reset(writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        if self.fault.mode == "rst":
            _reset(writer)
            return
        self._writers.add(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
        except OSError:
            self._writers.discard(writer)
            _reset(writer)
            return
        self._writers.add(up_writer)
        budget = [self.fault.cut_after if self.fault.mode == "cut" else -1]
        try:
            await asyncio.gather(
                self._pipe(reader, up_writer, writer, budget), self._pipe(up_reader, writer, up_writer, budget)
            )
        finally:
            for w in (writer, up_writer):
                self._writers.discard(w)
                with contextlib.suppress(Exception):
                    w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, other: asyncio.StreamWriter, budget: list
    ) -> None:
        try:
            while True:
                chunk = await reader.read(65536)
                if not chunk:
                    break
                fault = self.fault
                if fault.mode == "blackhole":
                    continue  # swallowed; the connection stays open
                if fault.mode == "rst":
                    break
                if fault.mode == "delay" and fault.delay:
                    await asyncio.sleep(fault.delay)
                if fault.mode == "cut":
                    if budget[0] < 0:
                        budget[0] = fault.cut_after
                    chunk = chunk[: budget[0]]
                    budget[0] -= len(chunk)
                    if chunk:
                        writer.write(chunk)
                        await writer.drain()
                    if budget[0] <= 0:
                        break
                    continue
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        # A reset (not a clean close): what a dropped path or a crashed peer looks like to the other side.
        _reset(writer)
        _reset(other)


def _reset(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()


def main() -> None:
    parser = argparse.ArgumentParser(description="TCP fault proxy (delay, black-hole, RST, cut after N bytes)")
    parser.add_argument("--target", required=True, help="host:port to forward to")
    parser.add_argument("--listen", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--mode", choices=MODES, default="pass")
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--cut-after", type=int, default=1024)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    proxy = FaultProxy(int(port), host, args.listen).start()
    proxy.set(args.mode, delay=args.delay, cut_after=args.cut_after)
    print(f"127.0.0.1:{proxy.port} -> {args.target} ({args.mode}); Ctrl-C stops", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    proxy.stop()


if __name__ == "__main__":
    main()
