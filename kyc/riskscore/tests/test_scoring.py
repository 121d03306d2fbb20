"""The pure scoring function: no database."""

from __future__ import annotations

from datetime import date

import pytest

from kyc.riskscore.conf import DEFAULTS
from kyc.riskscore.scoring import next_review, score_risk

TABLE = {
    "IR": {"prohibited": 100, "eu_high_risk": 30},
    "BA": {"fatf_grey": 30},
    "MC": {"fatf_grey": 30, "eu_high_risk": 30},
}
WEIGHTS = DEFAULTS["KYC_RISK_WEIGHTS"]
BANDS = DEFAULTS["KYC_RISK_BANDS"]


def score(**kwargs):
    kwargs.setdefault("residence", "DE")
    kwargs.setdefault("screening", "clear")
    kwargs.setdefault("channel", "face_to_face")
    return score_risk(country_table=TABLE, weights=WEIGHTS, bands=BANDS, **kwargs)


def test_a_clean_face_to_face_client_scores_zero_and_low():
    result = score()
    assert (result.score, result.band, result.factors) == (0, "low", ())


def test_each_factor_carries_its_points_and_a_reason():
    result = score(pep="foreign", adverse_media=True, channel="online")
    assert [(f.code, f.points) for f in result.factors] == [
        ("pep", 40),
        ("adverse_media", 20),
        ("non_face_to_face", 10),
    ]
    assert result.score == 70 and result.band == "high"
    assert result.factors[0].reason.startswith("Foreign politically exposed person")


@pytest.mark.parametrize(
    ("kwargs", "expected_score", "expected_band"),
    [
        ({"pep": "domestic"}, 25, "low"),  # 29 and below: Low
        ({"pep": "domestic", "channel": "online"}, 35, "medium"),
        ({"residence": "BA"}, 30, "medium"),  # exactly 30: Medium
        ({"residence": "BA", "pep": "domestic"}, 55, "medium"),
        ({"residence": "BA", "pep": "domestic", "channel": "online"}, 65, "high"),
        ({"pep": "foreign", "adverse_media": True}, 60, "high"),  # exactly 60: High
    ],
)
def test_band_boundaries(kwargs, expected_score, expected_band):
    result = score(**kwargs)
    assert (result.score, result.band) == (expected_score, expected_band)


def test_a_country_on_two_lists_counts_once_at_its_highest():
    result = score(residence="MC")
    [factor] = result.factors
    assert factor.points == 30
    assert factor.reason == (
        "Country of residence MC is listed: EU high-risk third country, FATF grey list"
    )


def test_a_prohibited_country_makes_the_client_high_and_prohibited():
    result = score(residence="ir")
    assert result.prohibited and result.band == "high"
    assert "prohibited: do not onboard" in result.factors[0].reason


def test_a_login_country_is_its_own_factor():
    result = score(ip_countries=["FR", "BA"])
    assert [(f.code, f.points) for f in result.factors] == [("country_ip", 30)]
    assert result.factors[0].reason.startswith("Recent login from BA")


def test_a_strong_sanctions_hit_freezes_whatever_the_score():
    result = score(screening="strong")
    assert result.freeze and result.band == "high"
    assert result.factors[0].code == "sanctions"


def test_open_alerts_add_points_up_to_a_cap():
    assert score(open_alerts=1).score == 10
    assert score(open_alerts=7).score == 30


def test_unscreened_and_alerting_clients_score_more_than_clear_ones():
    assert score(screening="unknown").score == 10
    assert score(screening="alert").score == 20


def test_unknown_inputs_are_refused_with_the_allowed_values():
    with pytest.raises(ValueError, match="pep must be one of none, domestic, foreign"):
        score(pep="maybe")
    with pytest.raises(ValueError, match="channel must be one of"):
        score(channel="phone")


@pytest.mark.parametrize(("band", "expected"), [("low", 2029), ("medium", 2028), ("high", 2027)])
def test_next_review_is_three_two_one_years_by_band(band, expected):
    years = DEFAULTS["KYC_RISK_REVIEW_YEARS"]
    assert next_review(band=band, on=date(2026, 11, 25), review_years=years) == date(
        expected, 11, 25
    )
    assert next_review(band=band, on=date(2028, 2, 29), review_years=years).day in (28, 29)
