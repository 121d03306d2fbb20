"""A bundled MetaTrader 5 trade server simulator speaking the Manager Web API wire format.

Not a Django app and never imports Django. Times are on the broker clock (see
`mt5sim.clock`): the trade server's wall clock, America/New_York + 7 h, as epoch seconds.
"""

from .clock import ManualClock, SystemClock, server_to_utc, utc_datetime_to_server
from .core import (
    DEFAULT_LOGIN_RANGE,
    DEFAULT_MANAGER_LOGIN,
    DEFAULT_MANAGER_PASSWORD,
    Manager,
    SimError,
    Simulator,
)
from .server import Faults, SimServer

__all__ = [
    "DEFAULT_LOGIN_RANGE",
    "DEFAULT_MANAGER_LOGIN",
    "DEFAULT_MANAGER_PASSWORD",
    "Faults",
    "ManualClock",
    "Manager",
    "SimError",
    "SimServer",
    "Simulator",
    "SystemClock",
    "server_to_utc",
    "utc_datetime_to_server",
]
