"""The sandbox kernelspecs' provisioner (lrcourse.sandbox.provisioner): a kernel's ports are held
from the moment they are chosen until the launcher's relay accepts on them, so no other
connection can take one in between. A stand-in launcher (a short Python program) takes the
sockets, as lrcourse.sandbox.launch does; no sandbox is needed."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import textwrap
from pathlib import Path

import pytest
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerFactory

from lrcourse.sandbox.provisioner import NAME, RelayProvisioner, listen
from lrcourse.sandbox.relay import LISTEN_FDS, PORTS, inherited_listeners
from lrcourse.sandbox.setup import install_sandbox_kernel

# The stand-in launcher: waits until told to go, then accepts the connections waiting on each
# socket it inherited and reports, by port, the first bytes of each (the kernel manager's own
# control connection is among them).
LAUNCHER = textwrap.dedent("""
    import json, os, sys, time
    sys.path[:0] = [{src!r}]
    from lrcourse.sandbox.relay import inherited_listeners
    connection, go, out = sys.argv[1:4]
    listeners = inherited_listeners()
    still_named = {fds!r} in os.environ
    while not os.path.exists(go):
        time.sleep(0.01)
    got = {{}}
    for port, sock in listeners.items():
        sock.settimeout(0.5)
        got[port] = []
        try:
            while True:
                conn, _ = sock.accept()
                conn.settimeout(5)
                got[port].append(conn.recv(100).decode("latin-1"))
        except TimeoutError:
            pass
    json.dump({{"got": got, "still_named": still_named}}, open(out, "w"))
""")


def stand_in_spec(tmp_path: Path) -> KernelSpecManager:
    src = str(Path(__file__).resolve().parents[1] / "src")
    script = tmp_path / "launcher.py"
    script.write_text(LAUNCHER.format(src=src, fds=LISTEN_FDS))
    folder = tmp_path / "kernels" / "stand-in"
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(script), "{connection_file}", str(tmp_path / "go"), str(tmp_path / "out.json")],
        "display_name": "stand-in", "language": "python",
        "metadata": {"kernel_provisioner": {"provisioner_name": NAME}},
    }))
    return KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")])


@pytest.mark.parametrize("warm", [True, False])
def test_the_sandbox_kernelspecs_name_the_relay_provisioner_and_jupyter_client_finds_it(tmp_path, warm):
    folder = install_sandbox_kernel(prefix=str(tmp_path), warm=warm)
    spec = KernelSpec.from_resource_dir(str(folder))
    assert spec.metadata["kernel_provisioner"]["provisioner_name"] == NAME
    factory = KernelProvisionerFactory.instance()
    assert factory.is_provisioner_available(spec), "run `make setup`: the entry point is not installed"
    assert isinstance(factory.create_provisioner_instance("k", spec, parent=None), RelayProvisioner)


def test_the_ports_are_held_from_their_choice_until_the_launcher_accepts_on_them(tmp_path):
    async def scenario():
        km = AsyncKernelManager(kernel_name="stand-in", kernel_spec_manager=stand_in_spec(tmp_path))
        await km.start_kernel()
        try:
            assert isinstance(km.provisioner, RelayProvisioner)
            ports = {key: km.get_connection_info()[key] for key in PORTS}
            on_file = json.loads(Path(km.connection_file).read_text())
            assert {key: on_file[key] for key in PORTS} == ports
            assert len(set(ports.values())) == 5 and all(ports.values())
            assert km.provisioner._listeners == []  # the grading process's copies are closed
            clients = []
            for key, port in ports.items():
                taker = socket.socket()
                with pytest.raises(OSError):  # held: nothing else can bind it
                    taker.bind(("127.0.0.1", port))
                taker.close()
                client = socket.create_connection(("127.0.0.1", port), timeout=5)  # queued, not refused
                client.sendall(key.encode())
                clients.append(client)
            (tmp_path / "go").touch()
            for _ in range(2000):
                if not await km.is_alive():
                    break
                await asyncio.sleep(0.01)
            for client in clients:
                client.close()
            return ports
        finally:
            await km.shutdown_kernel(now=True)

    ports = asyncio.run(scenario())
    report = json.loads((tmp_path / "out.json").read_text())
    assert report["still_named"] is False  # not passed on to what the launcher starts
    assert sorted(report["got"]) == sorted(str(port) for port in ports.values())
    for key, port in ports.items():
        assert key in report["got"][str(port)]


def test_inherited_listeners_takes_only_sockets_and_removes_the_name():
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    not_a_socket = open(__file__)  # noqa: SIM115
    try:
        environ = {LISTEN_FDS: f"{listening.fileno()},{not_a_socket.fileno()},x,", "OTHER": "1"}
        found = inherited_listeners(environ)
        assert list(found) == [listening.getsockname()[1]]
        assert environ == {"OTHER": "1"}
        assert inherited_listeners({}) == {}
    finally:
        not_a_socket.close()
        for sock in found.values():
            sock.detach()  # the same descriptor as `listening`
        listening.close()


def test_a_restarted_kernel_keeps_its_ports_and_a_taken_port_is_left_to_the_launcher(tmp_path):
    """A restart reuses the connection file, so the same ports are held again; a port that
    cannot be held (taken meanwhile) is left for the launcher to bind, as before."""
    async def scenario():
        km = AsyncKernelManager(kernel_name="stand-in", kernel_spec_manager=stand_in_spec(tmp_path))
        (tmp_path / "go").touch()  # the stand-in accepts what is waiting, reports and exits
        await km.start_kernel()
        try:
            ports = {key: km.get_connection_info()[key] for key in PORTS}
            (tmp_path / "out.json").unlink(missing_ok=True)
            await km.restart_kernel(now=True)
            assert {key: km.get_connection_info()[key] for key in PORTS} == ports
            for _ in range(2000):
                if (tmp_path / "out.json").exists() and not await km.is_alive():
                    break
                await asyncio.sleep(0.01)
            return ports
        finally:
            await km.shutdown_kernel(now=True)

    ports = asyncio.run(scenario())
    report = json.loads((tmp_path / "out.json").read_text())
    assert sorted(report["got"]) == sorted(str(port) for port in ports.values())  # held again

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        assert listen("127.0.0.1", taken.getsockname()[1]) is None
    finally:
        taken.close()


def test_where_sockets_cannot_be_passed_the_provisioner_is_jupyter_clients_own(tmp_path, monkeypatch):
    """On Windows Popen cannot pass file descriptors: the ports are chosen as jupyter_client does."""
    monkeypatch.setattr("lrcourse.sandbox.provisioner.CAN_PASS_SOCKETS", False)

    async def launch():
        km = AsyncKernelManager(kernel_name="stand-in", kernel_spec_manager=stand_in_spec(tmp_path))
        km.provisioner = KernelProvisionerFactory.instance().create_provisioner_instance(
            km.kernel_id or "k", km.kernel_spec, parent=km)
        kwargs = await km.provisioner.pre_launch(env={})
        return km, kwargs

    km, kwargs = asyncio.run(launch())
    try:
        assert "pass_fds" not in kwargs and LISTEN_FDS not in kwargs["env"]
        assert km.provisioner._listeners == []
        assert all(km.get_connection_info()[key] for key in PORTS)  # chosen by jupyter_client
    finally:
        Path(km.connection_file).unlink(missing_ok=True)
