"""The risk score's tunable numbers. Each is a Django setting (brokerage/settings/base.py) with
the default below; a setting given as a dict overrides only the keys it names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Points per country-list category. A country on several lists counts once, at its
    # highest: the EU list mostly repeats FATF's, and counting both would make every
    # grey-listed resident High on residence alone.
    "KYC_RISK_COUNTRY_POINTS": {"prohibited": 100, "fatf_grey": 30, "eu_high_risk": 30},
    # Customer factors (spec section 5). screening_* and open_alert are ours: the spec gives
    # no figure for an unresolved alert or a screening that has not run.
    "KYC_RISK_WEIGHTS": {
        "pep_foreign": 40,
        "pep_domestic": 25,
        "adverse_media": 20,
        "non_face_to_face": 10,
        "screening_alert": 20,
        "screening_unknown": 10,
        "open_alert": 10,
        "open_alerts_max": 30,
    },
    "KYC_RISK_BANDS": {"medium": 30, "high": 60},
    "KYC_RISK_REVIEW_YEARS": {"low": 3, "medium": 2, "high": 1},
    # Dotted path of a function ip -> ISO-2 country or None (e.g. a GeoIP2 lookup). Empty:
    # login countries are not used, since no IP-country data ships with the product.
    "KYC_RISK_IP_COUNTRY_RESOLVER": "",
    "KYC_RISK_IP_LAST_LOGINS": 5,
    # Monitoring rules. Amounts are per currency; a currency not named is not checked.
    "KYC_RISK_R1": {
        "lookback_days": 3,
        "window_days": 30,
        "withdrawal_ratio": Decimal("0.70"),
        "min_trading_transfers": 1,
    },
    "KYC_RISK_R2": {
        "lookback_days": 14,
        "window_days": 7,
        "min_deposits": 3,
        "lower": Decimal("0.80"),
        "upper": Decimal("0.999"),
        "thresholds": {"USD": Decimal("10000"), "EUR": Decimal("10000")},
    },
    "KYC_RISK_R4": {"lookback_days": 30},
    "KYC_RISK_R7": {
        "lookback_days": 3,
        "dormant_days": 180,
        "min_amounts": {"USD": Decimal("5000"), "EUR": Decimal("5000"), "USDT": Decimal("5000")},
    },
}


def conf(name: str) -> Any:
    default = DEFAULTS[name]
    value = getattr(settings, name, None)
    if value is None:
        return default
    if isinstance(default, dict) and isinstance(value, dict):
        return {**default, **value}
    return value
