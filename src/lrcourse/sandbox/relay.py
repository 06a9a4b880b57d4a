"""Relay the kernel's five ports: TCP on the client's side, Unix sockets on the kernel's.

The client (nbgrader's Execute, nbclient, jupyter_client) connects to the TCP ports
of the connection file it wrote, on 127.0.0.1. The sandboxed kernel has no network,
so it listens on ZMQ `ipc` sockets (`<prefix>-<port>`) in a folder the launcher
can reach. ZMQ speaks the same ZMTP byte stream over both transports, so the relay
copies bytes and understands nothing; the HMAC-signed messages pass through intact.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 18
PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _connect_unix(path: Path, alive: Callable[[], bool], wait: float):
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        try:
            return await asyncio.open_unix_connection(str(path))
        except (FileNotFoundError, ConnectionRefusedError):
            if loop.time() > deadline or not alive():
                return None
            await asyncio.sleep(0.01)


class Relay:
    """Listen on the connection file's TCP ports; forward each connection to the kernel's socket."""

    def __init__(self, connection: dict, sock_prefix: Path, alive: Callable[[], bool], wait: float = 120):
        self.connection, self.prefix, self.alive, self.wait = connection, sock_prefix, alive, wait
        self._ready, self._done = threading.Event(), threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Bind the TCP ports in a background thread; raise here if that fails."""
        threading.Thread(target=self._run, name="lrcourse-relay", daemon=True).start()
        self._ready.wait()
        if self._error:
            raise self._error

    def _run(self) -> None:
        self._loop = loop = asyncio.new_event_loop()
        try:
            servers = loop.run_until_complete(self._serve())
        except BaseException as err:  # reported to start()
            self._error = err
            self._ready.set()
            return
        self._ready.set()
        with contextlib.suppress(RuntimeError):
            loop.run_forever()
        for server in servers:
            server.close()
        # Connections still open when the kernel has gone are dropped without a word, and closed
        # while the loop still runs (else their clean-up fails noisily when the launcher exits).
        loop.set_exception_handler(lambda *_: None)
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        self._done.set()

    async def _serve(self):
        host = self.connection.get("ip", "127.0.0.1")
        servers = []
        for key in PORTS:
            port = int(self.connection[key])
            path = Path(f"{self.prefix}-{port}")

            async def handle(reader, writer, path=path):
                kernel = await _connect_unix(path, self.alive, self.wait)
                if kernel is None:
                    writer.close()
                    return
                k_reader, k_writer = kernel
                await asyncio.gather(_pump(reader, k_writer), _pump(k_reader, writer))

            servers.append(await asyncio.start_server(handle, host, port, reuse_address=True))
        return servers

    def stop(self) -> None:
        """Close every connection and the listening sockets (waits up to a second)."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._done.wait(1)
