"""Actors shared by all tests: the owner, a teammate and an outsider (healthchecks' habit)."""

from __future__ import annotations

import pytest

from brokerage import roles
from tests.factories import ClientFactory, PartnerFactory, make_staff


@pytest.fixture
def owner(db):
    """A trader: the owner of the client data under test."""
    return ClientFactory().user


@pytest.fixture
def outsider(db):
    """Another trader, who must never see the owner's data."""
    return ClientFactory().user


@pytest.fixture
def teammate(db):
    """A staff member (sales agent) to whom the owner is assigned."""
    return make_staff(roles.SALES_AGENT)


@pytest.fixture
def partner_user(db):
    return PartnerFactory().user


@pytest.fixture
def staff_factory(db):
    return make_staff


@pytest.fixture(autouse=True)
def _fresh_cache():
    """allauth keeps rate limits (e.g. one verification e-mail per address per 3 minutes) in
    the cache; each test starts without another test's counters."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
