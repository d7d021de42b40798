"""The sandbox process: every registered emulator, each on its own loopback port.

``python -m vibn.sandbox.server --dir DIR`` serves all emulators from one process
(one uvicorn server per emulator, all on one event loop in a background thread)
and writes ``DIR/sandbox.json`` once every server accepts connections. The bearer
token is generated once per ``DIR`` (``DIR/token``) and the ports are remembered
(``DIR/ports.json``) and reused on restart when still free, so the URLs a user
configured keep working. ``start_in_thread`` runs the very same apps inside the
calling process, which is what contract tests use.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import signal
import socket
import string
import sys
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import uvicorn

from vibn.sandbox.emulator import Clock, Emulator, EmulatorConfig
from vibn.sandbox.info import ProviderEndpoint, SandboxError, SandboxInfo
from vibn.sandbox.persist import read_json, write_json_atomic
from vibn.sandbox.publicdns import PublicDns
from vibn.sandbox.registry import EMULATORS

HOST = "127.0.0.1"
INFO_FILE = "sandbox.json"
TOKEN_FILE = "token"
PORTS_FILE = "ports.json"
LOG_FILE = "sandbox.log"

log = logging.getLogger("vibn.sandbox")


def load_token(state_dir: Path) -> str:
    """The sandbox's bearer token, created on first use and kept in ``DIR/token``.

    Shaped like a Laravel Sanctum plain-text token (``<id>|<40 characters>``).
    """
    path = state_dir / TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        token = ""
    if token:
        return token
    alphabet = string.ascii_letters + string.digits
    token = "1|" + "".join(secrets.choice(alphabet) for _ in range(40))
    state_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(token + "\n", encoding="utf-8")
    path.chmod(0o600)
    return token


def _bind(port: int) -> socket.socket:
    # proto must be explicit: asyncio only sets TCP_NODELAY on sockets it knows are TCP
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    return sock


def _bind_all(
    state_dir: Path, names: Sequence[str], ports: Mapping[str, int]
) -> dict[str, socket.socket]:
    """One listening socket per emulator: the port asked for, else the last one, else any."""
    previous = read_json(state_dir / PORTS_FILE)
    remembered = previous if isinstance(previous, dict) else {}
    sockets: dict[str, socket.socket] = {}
    try:
        for name in names:
            if name in ports:
                try:
                    sockets[name] = _bind(int(ports[name]))
                except OSError as exc:
                    raise SandboxError(f"port {ports[name]} for {name} is not free: {exc}") from exc
                continue
            last = remembered.get(name)
            try:
                sockets[name] = _bind(int(last)) if isinstance(last, int) else _bind(0)
            except OSError:
                sockets[name] = _bind(0)
    except BaseException:
        for sock in sockets.values():
            sock.close()
        raise
    chosen = {name: sock.getsockname()[1] for name, sock in sockets.items()}
    write_json_atomic(state_dir / PORTS_FILE, {**remembered, **chosen})
    return sockets


class _Server(uvicorn.Server):
    """uvicorn's server, woken at once by ``wake()`` instead of its next 0.1 s tick."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's shutdown without its fixed 0.1 s pause (a sandbox per test adds up).

        Stops accepting, asks open connections to close, gives in-flight requests
        up to ``timeout_graceful_shutdown`` seconds, then cancels what is left.
        """
        for server in self.servers:
            server.close()
        for connection in list(self.server_state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + float(self.config.timeout_graceful_shutdown or 0)
        while self.server_state.connections and loop.time() < deadline:
            await asyncio.sleep(0.005)
        for task in self.server_state.tasks:
            task.cancel()

    def request_exit(self) -> None:
        """Thread-safe: stop serving as soon as the event loop gets to it."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)


@dataclass
class RunningSandbox:
    """Emulators being served by a background thread; stop() (or ``with``) ends them."""

    state_dir: Path
    token: str
    emulators: dict[str, Emulator]
    ports: dict[str, int]
    started_at: str
    _servers: list[_Server] = field(repr=False)
    _sockets: list[socket.socket] = field(repr=False)
    _thread: threading.Thread = field(repr=False)

    @property
    def providers(self) -> dict[str, ProviderEndpoint]:
        out = {}
        for name, emulator in self.emulators.items():
            base = f"http://{HOST}:{self.ports[name]}"
            out[name] = ProviderEndpoint(base + emulator.api_path, self.token, base + "/_sandbox")
        return out

    def info(self) -> SandboxInfo:
        return SandboxInfo(pid=os.getpid(), started_at=self.started_at, providers=self.providers)

    def alive(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        for server in self._servers:
            server.request_exit()
        self._thread.join(timeout)
        for sock in self._sockets:
            sock.close()

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


async def _cancel_leftovers() -> None:
    leftovers = asyncio.all_tasks() - {asyncio.current_task()}
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)


def _serve(
    servers: list[_Server],
    sockets: list[socket.socket],
    ready: threading.Event,
    errors: list[BaseException],
) -> None:
    async def main() -> None:
        tasks = [
            asyncio.create_task(server.serve(sockets=[sock]))
            for server, sock in zip(servers, sockets, strict=True)
        ]
        while not all(s.started for s in servers) and not any(t.done() for t in tasks):
            await asyncio.sleep(0.005)
        ready.set()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, BaseException):
                errors.append(result)

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main())
    except BaseException as exc:
        errors.append(exc)
    finally:
        ready.set()
        loop.run_until_complete(_cancel_leftovers())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def start_in_thread(
    state_dir: Path | str,
    *,
    ports: Mapping[str, int] | None = None,
    names: Iterable[str] | None = None,
    clock: Clock = time.time,
    ready_timeout: float = 10.0,
    public_dns: PublicDns | None = None,
) -> RunningSandbox:
    """Serve the emulators (all registered ones unless ``names``) from this process;
    ``public_dns`` lets a test publish records SES verification will see."""
    state_dir = Path(state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    chosen = list(names) if names is not None else list(EMULATORS)
    unknown = [n for n in chosen if n not in EMULATORS]
    if unknown:
        raise SandboxError(f"unknown emulators: {', '.join(unknown)}")
    token = load_token(state_dir)
    config = EmulatorConfig(
        state_dir=state_dir, token=token, clock=clock, public_dns=public_dns or PublicDns()
    )
    emulators = {}
    for name in chosen:
        try:
            emulators[name] = EMULATORS[name](config)
        except Exception as exc:
            raise SandboxError(f"cannot start the {name} emulator in {state_dir}: {exc}") from exc
    sockets = _bind_all(state_dir, chosen, ports or {})
    servers = [
        _Server(
            uvicorn.Config(
                emulators[name].app,
                log_config=None,
                log_level="warning",
                access_log=False,
                lifespan="off",
                http="h11",
                ws="none",
                server_header=False,
                timeout_graceful_shutdown=1,
            )
        )
        for name in chosen
    ]
    ready = threading.Event()
    errors: list[BaseException] = []
    socket_list = [sockets[name] for name in chosen]
    thread = threading.Thread(
        target=_serve, args=(servers, socket_list, ready, errors), name="vibn-sandbox", daemon=True
    )
    thread.start()
    running = RunningSandbox(
        state_dir=state_dir,
        token=token,
        emulators=emulators,
        ports={name: sock.getsockname()[1] for name, sock in sockets.items()},
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        _servers=servers,
        _sockets=socket_list,
        _thread=thread,
    )
    if not ready.wait(ready_timeout) or errors or not all(s.started for s in servers):
        running.stop()
        detail = f": {errors[0]!r}" if errors else ""
        raise SandboxError(f"the sandbox servers did not start{detail}")
    return running


def _parse_ports(values: Sequence[str]) -> dict[str, int]:
    ports = {}
    for value in values:
        name, sep, port = value.partition("=")
        if not sep or not port.isdigit():
            raise SandboxError(f"--port takes NAME=PORT, got {value!r}")
        ports[name] = int(port)
    return ports


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sandbox until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="python -m vibn.sandbox.server")
    parser.add_argument("--dir", required=True, type=Path, help="state directory")
    parser.add_argument("--port", action="append", default=[], help="NAME=PORT (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    state_dir: Path = args.dir.resolve()
    try:
        sandbox = start_in_thread(state_dir, ports=_parse_ports(args.port))
    except SandboxError as exc:
        log.error("%s", exc)
        return 1
    info_path = state_dir / INFO_FILE
    write_json_atomic(info_path, sandbox.info().to_json())
    for name, endpoint in sandbox.providers.items():
        log.info("%s ready at %s", name, endpoint.url)
    while not stop.wait(0.5):
        if not sandbox.alive():
            log.error("the sandbox servers stopped unexpectedly")
            break
    sandbox.stop()
    current = read_json(info_path)
    if isinstance(current, dict) and current.get("pid") == os.getpid():
        info_path.unlink(missing_ok=True)
    log.info("sandbox stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
