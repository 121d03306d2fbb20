"""Trading-platform gateways: one interface (``base.TradingPlatform``), one module per platform.

Get one with ``registry.platform_for(kind, **config)``.
"""
