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


@pytest.fixture(autouse=True)
def _country_lists(request):
    """The seeded country-risk version (a data migration). A transactional test elsewhere in
    the run flushes the database, data migrations included; put the seed back for the tests
    after it (sign-up screening and risk scoring need an active version)."""
    if request.node.get_closest_marker("django_db") is None:
        return
    import importlib

    from django.apps import apps

    from kyc.riskscore.models import CountryRiskVersion

    if not CountryRiskVersion.objects.filter(is_active=True).exists():
        seed = importlib.import_module("kyc.riskscore.migrations.0002_seed_fatf_june_2026")
        seed.seed(apps, None)


@pytest.fixture(autouse=True)
def _ledger_stays_sound(request):
    """Every test that touches the database leaves the ledger's invariants holding (the
    queries of `manage.py ledger_check`, run before the test's data is rolled back), so a
    service bug can't hide behind a passing test. A test that breaks the books on purpose
    says so with @pytest.mark.ledger_unsound."""
    names = set(request.fixturenames)
    marker = request.node.get_closest_marker("django_db")
    if marker is None and not names & {"db", "transactional_db", "live_server"}:
        yield
        return
    if request.node.get_closest_marker("ledger_unsound"):
        yield
        return
    if marker is None:
        # Set the database up before this fixture, so it is torn down after the check.
        request.getfixturevalue(
            "transactional_db" if names & {"transactional_db", "live_server"} else "db"
        )
    yield
    from django.db import connection

    if connection.needs_rollback:
        return  # the test's own transaction failed; its own assertions speak
    from wallets.ledger.selectors import ledger_violations

    violations = ledger_violations()
    assert violations == {}, f"ledger invariants broken by this test: {violations}"
