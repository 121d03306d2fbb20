"""Pick a platform implementation by kind. A new platform is one new module here."""

from __future__ import annotations

import importlib
from typing import Any, cast

from .base import TradingPlatform

# kind -> module exposing ``build(**config) -> TradingPlatform``; imported on demand so
# that e.g. the terminal adapter never loads on a worker that does not use it.
KINDS: dict[str, str] = {
    "mt5_webapi": "clients.platforms.webapi",
    "mt5_terminal": "clients.platforms.terminal",
}


def platform_for(kind: str, **config: Any) -> TradingPlatform:
    """``platform_for("mt5_webapi", url=..., login=..., password=..., verify=False)``."""
    try:
        module_name = KINDS[kind]
    except KeyError:
        raise ValueError(
            f"unknown trading platform kind {kind!r}; known: {sorted(KINDS)}"
        ) from None
    module = importlib.import_module(module_name)
    return cast(TradingPlatform, module.build(**config))
