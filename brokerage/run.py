"""`make run`: the whole system on one machine, with demo data.

Starts the embedded PostgreSQL and Redis (unless DATABASE_URL / REDIS_URL point at real
ones), migrates, loads the demo brokerage, then runs web, worker and beat with honcho from
the Procfile. Ctrl-C stops all of it, the embedded servers included.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from brokerage import devservices
from brokerage.paths import BASE_DIR, VAR_DIR

BIN = Path(sys.executable).parent


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _say(text: str) -> None:
    print(f"\033[1m==> {text}\033[0m", flush=True)


def _wait_ready(url: str, stop: threading.Event) -> None:
    deadline = time.monotonic() + 180
    while not stop.is_set() and time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own URL)
                if response.status == 200:
                    _say(f"Ready: {url.rsplit('/', 1)[0]}/  (Ctrl-C stops everything)")
                    return
        except Exception:  # noqa: S110 (not up yet)
            pass
        stop.wait(1)


def main() -> int:
    port_text = os.environ.get("PORT", "8000")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        print(f"PORT={port_text!r} is not a port number (1-65535).", file=sys.stderr)
        return 2
    port = int(port_text)

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    lock_file = open(VAR_DIR / "run.lock", "a+")  # noqa: SIM115 (held for the whole run)
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock_file.seek(0)
        holder = lock_file.read().strip() or "another process"
        print(
            f"`make run` is already running for this checkout (pid {holder}). "
            "Use that one, or stop it with Ctrl-C first.",
            file=sys.stderr,
        )
        return 1
    lock_file.seek(0)
    lock_file.truncate()
    lock_file.write(str(os.getpid()))
    lock_file.flush()

    if not _port_free(port):
        print(
            f"Port {port} is already in use by another program. Stop it, or choose another "
            f"port: PORT={port + 1} make run",
            file=sys.stderr,
        )
        return 1
    sim_port_text = os.environ.get("MT5SIM_PORT", "8443")
    if (
        not sim_port_text.isdigit()
        or not 0 < int(sim_port_text) < 65536
        or int(sim_port_text) == port
    ):
        print(f"MT5SIM_PORT={sim_port_text!r} is not a free port number.", file=sys.stderr)
        return 2
    sim_port = int(sim_port_text)
    if not _port_free(sim_port):
        print(
            f"Port {sim_port} (the bundled MT5 simulator) is already in use. Stop what uses "
            f"it, or choose another: MT5SIM_PORT={sim_port + 1} make run",
            file=sys.stderr,
        )
        return 1

    honcho: subprocess.Popen | None = None
    stop = threading.Event()
    interrupted = False

    def on_signal(signum, frame) -> None:
        nonlocal interrupted
        interrupted = True
        if honcho is None:
            raise KeyboardInterrupt  # still starting up: unwind through `finally`
        if honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGTERM)

    # Ctrl-C, `kill`, and a closed terminal all end in the same clean stop.
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, on_signal)

    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env["DJANGO_SETTINGS_MODULE"] = "brokerage.settings.dev"
    env["BROKERAGE_EMBEDDED_STOP_AT_EXIT"] = "0"  # this script stops them, after its children
    env["PYTHONUNBUFFERED"] = "1"
    env["PORT"] = str(port)
    # The demo's trading server: the simulator in the Procfile, its state kept under var/.
    env["MT5SIM_PORT"] = str(sim_port)
    env["MT5SIM_URL"] = f"http://127.0.0.1:{sim_port}"
    env["MT5SIM_STATE"] = str(VAR_DIR / "mt5sim.json")
    try:
        if not os.environ.get("DATABASE_URL"):
            _say(f"PostgreSQL (embedded): {devservices.postgres_ensure().url}")
        if not os.environ.get("REDIS_URL"):
            _say(f"Redis (embedded): {devservices.redis_ensure()}")
        _say("Applying migrations")
        subprocess.run([*manage, "migrate", "--no-input", "-v", "0"], env=env, check=True)
        _say("Loading the demo brokerage")
        subprocess.run([*manage, "seed_demo"], env=env, check=True)
        _say(
            f"Starting web, worker, beat and the MT5 simulator (http://127.0.0.1:{sim_port}) "
            f"on http://127.0.0.1:{port}/"
        )
        # Own session: a terminal's Ctrl-C reaches us once, and we stop the whole group.
        honcho = subprocess.Popen(
            [str(BIN / "honcho"), "start", "-f", str(BASE_DIR / "Procfile"), "-d", str(BASE_DIR)],
            env=env,
            start_new_session=True,
        )
        threading.Thread(
            target=_wait_ready, args=(f"http://127.0.0.1:{port}/healthz", stop), daemon=True
        ).start()
        while honcho.poll() is None:
            try:
                honcho.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                continue
        return 0 if interrupted else (honcho.returncode or 0)
    except KeyboardInterrupt:
        return 130
    except subprocess.CalledProcessError as exc:
        print(f"Start-up step failed: {' '.join(map(str, exc.cmd[1:]))}", file=sys.stderr)
        return 1
    finally:
        stop.set()
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # finish the clean-up whatever comes next
        if honcho is not None:
            _stop_tree(honcho)
        if devservices.stop_if_last():
            _say("Stopped (embedded PostgreSQL and Redis too)")
        else:
            _say("Stopped")


def _stop_tree(process: subprocess.Popen) -> None:
    """Stop honcho and everything under it. honcho gives each process of the Procfile its
    own session, so a process-group signal alone would miss them: collect the tree first."""
    try:
        tree = [psutil.Process(process.pid), *psutil.Process(process.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        tree = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=20)
    _, alive = psutil.wait_procs(tree, timeout=5)
    for leftover in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            leftover.kill()
    psutil.wait_procs(alive, timeout=5)


if __name__ == "__main__":
    sys.exit(main())
