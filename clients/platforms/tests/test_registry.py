import sys

import pytest

from clients.platforms import webapi
from clients.platforms.base import TradingPlatform
from clients.platforms.registry import platform_for
from clients.platforms.terminal import TerminalPlatform
from clients.platforms.webapi import WebApiPlatform

from . import fake_mt5
from .fake_webapi import MANAGER_LOGIN, MANAGER_PASSWORD, URL, FakeWebApi


def test_webapi_kind_builds_a_working_client() -> None:
    webapi.close_all_sessions()
    server = FakeWebApi()
    server.add_user(954402)
    platform = platform_for(
        "mt5_webapi",
        url=URL,
        login=MANAGER_LOGIN,
        password=MANAGER_PASSWORD,
        verify=False,
        zone="America/New_York",
        shift_hours=7,
        transport=server.transport(),
    )
    assert isinstance(platform, WebApiPlatform)
    assert isinstance(platform, TradingPlatform)
    assert platform.get_account(954402).login == 954402
    platform.close()


def test_terminal_kind_builds_without_the_package() -> None:
    platform = platform_for("mt5_terminal", module=fake_mt5, shift_hours=7)
    assert isinstance(platform, TerminalPlatform)
    assert isinstance(platform, TradingPlatform)
    assert "MetaTrader5" not in sys.modules


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown trading platform kind 'ctrader'"):
        platform_for("ctrader")
