"""The sandbox kernelspecs' provisioner: a kernel's ports are held from the moment they are chosen.

jupyter_client chooses a kernel's five TCP ports by binding port 0 and closing the socket again;
the kernel binds them when it starts. Until then any `connect()` on the machine may take such a
port as its own ephemeral source port, and the kernel cannot bind it. For the sandboxed kernel
the binder is the launcher's relay (relay.py), a few tenths of a second later and more on a
loaded machine: its `bind` failed with "Address already in use" and the kernel "died before
replying to kernel_info" in 2 of 450 kernel starts on a loaded 2-core machine (a notebook
graded FAILED for nothing its student did).

`RelayProvisioner` binds and listens on the five ports in the process that starts the kernel,
writes those ports into the connection file, and hands the listening sockets to the launcher
(inherited file descriptors, listed in LISTEN_FDS); the relay accepts on them. A port is never
free between its choice and its use, and connections that arrive early wait in the listening
queue. The kernelspecs written by `lrcourse sandbox` name it (`metadata.kernel_provisioner`);
it is registered under the entry point group `jupyter_client.kernel_provisioners`, so every
client of the kernelspec (lrcourse, `nbgrader autograde`, Jupyter) uses it.
"""

from __future__ import annotations

import os
import socket
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from .relay import LISTEN_FDS, PORTS, listening_socket

NAME = "lrcourse-relay"
CAN_PASS_SOCKETS = os.name == "posix"  # Popen cannot pass file descriptors on Windows


def listen(ip: str, port: int) -> socket.socket | None:
    """A listening TCP socket on (ip, port); port 0 picks a free one. None when it is taken."""
    try:
        return listening_socket(ip, port)
    except OSError:
        return None


class RelayProvisioner(LocalProvisioner):
    """jupyter_client's LocalProvisioner whose kernel ports are bound before the kernel starts."""

    _listeners: list[socket.socket]

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        self._close_listeners()
        km = self.parent
        if km is not None and km.transport == "tcp" and CAN_PASS_SOCKETS:
            ip = km.ip or "127.0.0.1"
            for name in PORTS:
                sock = listen(ip, getattr(km, name) or 0)
                if sock is None:  # taken (a restart's port): the launcher binds it, as before
                    continue
                self._listeners.append(sock)
                setattr(km, name, sock.getsockname()[1])
            self.ports_cached = True  # LocalProvisioner must not choose other ports
        kwargs = await super().pre_launch(**kwargs)
        if self._listeners:
            fds = [s.fileno() for s in self._listeners]
            kwargs["env"] = {**kwargs.get("env", os.environ), LISTEN_FDS: ",".join(map(str, fds))}
            kwargs["pass_fds"] = (*kwargs.get("pass_fds", ()), *fds)
        return kwargs

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        try:
            return await super().launch_kernel(cmd, **kwargs)
        finally:
            self._close_listeners()  # the launcher holds them now (or nobody, if it did not start)

    async def cleanup(self, restart: bool = False) -> None:
        self._close_listeners()
        await super().cleanup(restart=restart)

    def _close_listeners(self) -> None:
        for sock in getattr(self, "_listeners", []):
            sock.close()
        self._listeners = []
