"""The kernel client nbgrader's Execute uses (nbgrader_config.py: `AsyncKernelManager.client_class`).

jupyter_client's `wait_for_ready` returns only after IOPub has stayed silent for 0.2 s, to drop
the status messages `kernel_info` caused. nbclient, which runs every notebook here, reads only
IOPub messages whose parent is the request it sent, so those messages are ignored anyway and
the wait buys nothing; with two kernels per notebook (lrcourse.verify) it costs 0.4 s each.
`ReadyClient` is ready when the kernel has answered `kernel_info` on the shell channel and
IOPub is known to be connected, jupyter_client's own two conditions. It also tries a refused
connection again after RECONNECT_MS instead of ZMQ's 100 ms: the client of a warm kernel
connects before the kernel's sockets exist.
"""

from __future__ import annotations

import time
from queue import Empty

import zmq
from jupyter_client.asynchronous import AsyncKernelClient

RECONNECT_MS = 5


class ReadyClient(AsyncKernelClient):
    def _context_default(self) -> zmq.Context:
        # A warm kernel's client connects to its Unix sockets before the kernel has made them
        # (lrcourse.sandbox.provisioner); ZMQ tries again every RECONNECT_IVL ms, 100 by default.
        # (jupyter_client's own default, which also marks the context as the client's to destroy)
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
        return context

    async def _ready(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)
        while True:
            self.kernel_info()
            try:
                msg = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                pass
            else:
                if msg["msg_type"] == "kernel_info_reply":
                    try:  # IOPub delivers (the status kernel_info caused): nothing will be missed
                        await self.iopub_channel.get_msg(timeout=0.2)
                    except Empty:
                        pass  # not connected yet: ask again
                    else:
                        self._handle_kernel_info_reply(msg)
                        return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    wait_for_ready = _ready
