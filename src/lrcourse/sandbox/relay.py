"""Relay the kernel's five ports: TCP on the client's side, Unix sockets on the kernel's.

The client (nbgrader's Execute, nbclient, jupyter_client) connects to the TCP ports
of the connection file it wrote, on 127.0.0.1. The sandboxed kernel has no network,
so it listens on ZMQ `ipc` sockets (`<prefix>-<port>`) in a folder the launcher
can reach. ZMQ speaks the same ZMTP byte stream over both transports, so the relay
copies bytes and understands nothing; the HMAC-signed messages pass through intact.
The TCP ports are usually bound already: the kernel's provisioner (provisioner.py) listens on
them before the launcher starts and passes the sockets on; the relay binds any it was not given.

Plain threads and blocking sockets: one thread accepts on each port, two copy each
connection's bytes (one a direction; a blocked send holds back its reader, which is all
the flow control a byte pipe needs). A launcher starts once per kernel, and asyncio took
about 0.12 s of its start-up to import, twice a graded notebook.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path

CHUNK = 1 << 18
PORTS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
LISTEN_FDS = "LRCOURSE_LISTEN_FDS"  # the listening sockets the provisioner passes (provisioner.py)


def inherited_listeners(environ: os._Environ | dict[str, str] = os.environ) -> dict[int, socket.socket]:
    """The launcher's side: the listening sockets the provisioner passed, by port (and LISTEN_FDS
    removed from `environ`, so nothing started later inherits the name)."""
    found: dict[int, socket.socket] = {}
    for item in environ.pop(LISTEN_FDS, "").split(","):
        if item.strip().isdigit():
            with contextlib.suppress(OSError):
                sock = socket.socket(fileno=int(item))
                found[sock.getsockname()[1]] = sock
    return found


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket listening on (host, port); port 0 picks a free one. Raises OSError when taken.
    A given port may be in TIME_WAIT (a restarted kernel's): SO_REUSEADDR lets it be bound again."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(16)
    except BaseException:
        sock.close()
        raise
    return sock


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class Relay:
    """Listen on the connection file's TCP ports; forward each connection to the kernel's socket."""

    def __init__(self, connection: dict, sock_prefix: Path, alive: Callable[[], bool], wait: float = 120,
                 listeners: dict[int, socket.socket] | None = None):
        """`listeners`: sockets already listening on some of the ports, by port (the provisioner's,
        provisioner.py); the relay binds the others itself."""
        self.connection, self.prefix, self.alive, self.wait = connection, sock_prefix, alive, wait
        self.listeners = dict(listeners or {})
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._stopped = threading.Event()

    def _keep(self, sock: socket.socket) -> bool:
        """Track `sock` for stop(); False (and closed) when the relay has stopped already."""
        with self._lock:
            if not self._stopped.is_set():
                self._sockets.add(sock)
                return True
        _close(sock)
        return False

    def start(self) -> None:
        """Bind the TCP ports and start accepting; raise here if binding fails."""
        host = self.connection.get("ip", "127.0.0.1")
        listeners = []
        try:
            for key in PORTS:
                port = int(self.connection[key])
                listeners.append(self.listeners.pop(port) if port in self.listeners
                                 else listening_socket(host, port))
        except BaseException:
            for sock in listeners:
                _close(sock)
            raise
        finally:
            for sock in self.listeners.values():  # passed, but for no port of the connection file
                _close(sock)
            self.listeners.clear()
        for key, sock in zip(PORTS, listeners, strict=True):
            self._keep(sock)
            path = Path(f"{self.prefix}-{int(self.connection[key])}")
            threading.Thread(target=self._accept, args=(sock, path), name=f"relay-{key}", daemon=True).start()

    def _accept(self, listener: socket.socket, path: Path) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self._keep(client):
                threading.Thread(target=self._connect, args=(client, path), daemon=True).start()

    def _connect(self, client: socket.socket, path: Path) -> None:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        deadline = time.monotonic() + self.wait
        while True:
            kernel = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                kernel.connect(str(path))
                break
            except (FileNotFoundError, ConnectionRefusedError):
                kernel.close()
                if time.monotonic() > deadline or not self.alive() or self._stopped.is_set():
                    _close(client)
                    return
                time.sleep(0.01)
            except OSError:
                kernel.close()
                _close(client)
                return
        if not self._keep(kernel):
            _close(client)
            return
        threading.Thread(target=self._pump, args=(kernel, client), daemon=True).start()
        self._pump(client, kernel)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        """Copy bytes until either side closes; then close both (the other pump ends too)."""
        try:
            while data := source.recv(CHUNK):
                target.sendall(data)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)

    def stop(self) -> None:
        """Close every connection and the listening sockets."""
        with self._lock:
            self._stopped.set()
            sockets, self._sockets = self._sockets, set()
        for sock in sockets:
            _close(sock)
