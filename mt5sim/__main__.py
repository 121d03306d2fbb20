"""`python -m mt5sim --host 127.0.0.1 --port 8443 [--seed N] [--state FILE] ...`"""

from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
import threading
from pathlib import Path

from .core import DEFAULT_MANAGER_LOGIN, DEFAULT_MANAGER_PASSWORD, Manager, Simulator
from .server import SimServer


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="mt5sim", description="MT5 Manager Web API simulator")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8443)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument(
        "--state", help="JSON state file: loaded at start, saved periodically and on exit"
    )
    ap.add_argument("--manager-login", type=int, default=DEFAULT_MANAGER_LOGIN)
    ap.add_argument("--manager-password", default=DEFAULT_MANAGER_PASSWORD)
    ap.add_argument("--traders", type=int, default=5, help="simulated traders on a fresh state")
    ap.add_argument(
        "--tick", type=float, default=1.0, help="seconds between market ticks (0: none)"
    )
    ap.add_argument("--save-interval", type=float, default=30.0)
    ap.add_argument("--certfile", help="PEM certificate: serve HTTPS instead of HTTP")
    ap.add_argument("--keyfile", help="PEM private key for --certfile")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(message)s")

    state = Path(args.state) if args.state else None
    fresh = state is None or not state.exists()
    sim = Simulator(
        seed=args.seed,
        managers=[Manager(args.manager_login, args.manager_password)],
        traders=args.traders if fresh else 0,
    )
    if not fresh:
        assert state is not None
        sim.load(state)
    context = None
    if args.certfile:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.certfile, args.keyfile)
    server = SimServer(
        sim,
        host=args.host,
        port=args.port,
        state_file=state,
        tick_interval=args.tick or None,
        save_interval=args.save_interval,
        ssl_context=context,
    )
    done = threading.Event()

    def _stop(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    server.start()
    print(f"mt5sim listening on {server.url}", flush=True)
    print(f"manager login {args.manager_login}, password {args.manager_password}", flush=True)
    print(
        f"traders: {', '.join(map(str, sim.traders)) or 'none'}; state: {state or 'memory'}",
        flush=True,
    )
    done.wait()
    server.stop()
    print("mt5sim stopped" + (f", state saved to {state}" if state else ""), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
