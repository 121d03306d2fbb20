"""Behaviour rules over real ledger postings (made through the ledger's services)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from axes.models import AccessLog
from django.utils import timezone

from kyc.riskscore import rules, tasks
from kyc.riskscore.models import MonitoringAlert
from tests.factories import ClientFactory
from wallets.models import Entry, Journal

pytestmark = pytest.mark.django_db


def alerts(rule):
    return list(MonitoringAlert.objects.filter(rule=rule).order_by("client_id", "id"))


# --- R2 structuring ----------------------------------------------------------------------------


def test_r2_three_deposits_just_under_the_threshold_in_a_week(money):
    client = ClientFactory()
    ids = [
        money.deposit(client, "9500", days_ago=6),
        money.deposit(client, "9990", days_ago=4),
        money.deposit(client, "8000", days_ago=1),
    ]
    assert rules.rule_r2_structuring() == 1
    [alert] = alerts("R2")
    assert alert.client == client and alert.status == "open"
    assert alert.amount == Decimal("27490.00") and alert.currency == "USD"
    assert alert.evidence["journal_ids"] == ids
    assert alert.summary == (
        "3 deposits in 7 days, each just under the 10,000 USD threshold (27,490.00 USD in all)"
    )
    assert rules.rule_r2_structuring() == 0  # a rerun adds nothing
    assert len(alerts("R2")) == 1


@pytest.mark.parametrize(
    ("amounts", "days"),
    [
        (["9500", "9500"], [3, 1]),  # only two
        (["9500", "9500", "7999.99"], [3, 2, 1]),  # one below 80%
        (["9500", "9500", "9999.01"], [3, 2, 1]),  # one above 99.9%
        (["9500", "9500", "9500"], [12, 3, 1]),  # not within 7 days
    ],
)
def test_r2_does_not_fire_outside_its_definition(money, amounts, days):
    client = ClientFactory()
    for amount, ago in zip(amounts, days, strict=True):
        money.deposit(client, amount, days_ago=ago)
    assert rules.rule_r2_structuring() == 0


def test_r2_threshold_is_configurable_per_currency(money, settings):
    settings.KYC_RISK_R2 = {"thresholds": {"EUR": Decimal("5000")}}
    client = ClientFactory()
    for ago in (3, 2, 1):
        money.deposit(client, "4500", days_ago=ago, ccy="EUR")
        money.deposit(client, "9500", days_ago=ago)  # USD no longer checked
    assert rules.rule_r2_structuring() == 1
    assert alerts("R2")[0].currency == "EUR"


def test_r2_a_deposit_is_evidence_of_one_alert_only(money):
    client = ClientFactory()
    for ago in (6, 5, 4):
        money.deposit(client, "9500", days_ago=ago)
    assert rules.rule_r2_structuring() == 1
    money.deposit(client, "9600", days_ago=1)  # one more, overlapping the same week
    assert rules.rule_r2_structuring() == 0
    for ago in (0.5, 0.2):
        money.deposit(client, "9600", days_ago=ago)
    assert rules.rule_r2_structuring() == 1  # three fresh ones: a second alert
    assert len(alerts("R2")) == 2


# --- R7 dormant account suddenly funded --------------------------------------------------------


def test_r7_large_deposit_after_long_silence(money):
    client = ClientFactory()
    money.deposit(client, "100", days_ago=400)
    journal = money.deposit(client, "7500", days_ago=1)
    assert rules.rule_r7_dormant_funded() == 1
    [alert] = alerts("R7")
    assert alert.amount == Decimal("7500.00")
    assert alert.evidence["journal_id"] == journal and alert.evidence["idle_days"] == 399
    assert alert.summary == "Deposited 7,500.00 USD after 399 days without movement"
    assert rules.rule_r7_dormant_funded() == 0


def test_r7_not_for_active_accounts_small_deposits_or_first_deposits(money):
    active, small, new = ClientFactory(), ClientFactory(), ClientFactory()
    money.deposit(active, "100", days_ago=400)
    money.deposit(active, "100", days_ago=30)
    money.deposit(active, "7500", days_ago=1)
    money.deposit(small, "100", days_ago=400)
    money.deposit(small, "4999.99", days_ago=1)
    money.deposit(new, "50000", days_ago=1)
    assert rules.rule_r7_dormant_funded() == 0


def test_r7_dormancy_is_configurable(money, settings):
    settings.KYC_RISK_R7 = {"dormant_days": 20}
    client = ClientFactory()
    money.deposit(client, "100", days_ago=30)
    money.deposit(client, "5000", days_ago=1)
    assert rules.rule_r7_dormant_funded() == 1


# --- R1 deposit then withdrawal without trading ------------------------------------------------


def test_r1_withdrawing_most_of_recent_deposits_without_trading(money):
    client = ClientFactory()
    d1 = money.deposit(client, "3000", days_ago=20)
    d2 = money.deposit(client, "2000", days_ago=10)
    w = money.withdraw(client, "3600", days_ago=1)
    assert rules.rule_r1_deposit_withdraw() == 1
    [alert] = alerts("R1")
    assert alert.amount == Decimal("3600.00")
    assert alert.evidence["ratio"] == "0.7200"
    assert [d["journal_id"] for d in alert.evidence["deposits"]] == [d1, d2]
    assert alert.evidence["withdrawal"]["journal_id"] == w
    assert "72% of the 5,000.00 USD deposited in the 30 days before" in alert.summary
    assert rules.rule_r1_deposit_withdraw() == 0


def test_r1_counts_the_two_phase_withdrawal_flow(money):
    client = ClientFactory()
    money.deposit(client, "1000", days_ago=5)
    money.withdraw_two_phase(client, "900")
    assert rules.rule_r1_deposit_withdraw() == 1


def test_r1_not_when_the_client_funded_a_trading_account(money):
    client = ClientFactory()
    money.deposit(client, "5000", days_ago=10)
    money.to_trading(client, "1000", days_ago=9)
    money.withdraw(client, "4000", days_ago=1)
    assert rules.rule_r1_deposit_withdraw() == 0


def test_r1_not_for_small_withdrawals_or_old_deposits(money):
    small, old = ClientFactory(), ClientFactory()
    money.deposit(small, "5000", days_ago=10)
    money.withdraw(small, "3499.99", days_ago=1)
    money.deposit(old, "5000", days_ago=40)
    money.withdraw(old, "5000", days_ago=1)
    assert rules.rule_r1_deposit_withdraw() == 0


# --- R4 shared identifiers ---------------------------------------------------------------------


def _login(client, ip, user_agent="Mozilla/5.0"):
    AccessLog.objects.create(
        username=client.user.email,
        ip_address=ip,
        user_agent=user_agent,
        http_accept="*/*",
        path_info="/accounts/login/",
    )


def test_r4_same_login_ip_across_clients():
    a, b, c = ClientFactory(), ClientFactory(), ClientFactory()
    _login(a, "203.0.113.9")
    _login(b, "203.0.113.9")
    _login(c, "198.51.100.3")
    _login(c, "127.0.0.1")
    _login(a, "127.0.0.1")  # loopback says nothing
    assert rules.rule_r4_shared_identifiers() == 2
    found = alerts("R4")
    assert [x.client for x in found] == sorted([a, b], key=lambda x: x.pk)
    assert found[0].evidence == {"kind": "ip", "value": "203.0.113.9", "other_client_ids": [b.pk]}
    assert found[0].summary == "Same ip 203.0.113.9 as 1 other client"
    assert rules.rule_r4_shared_identifiers() == 0
    _login(c, "203.0.113.9")  # a third client joins: only they get a new alert
    assert rules.rule_r4_shared_identifiers() == 1


def test_r4_card_and_iban_sightings_can_be_fed_in():
    a, b = ClientFactory(), ClientFactory()
    now = timezone.now()
    sightings = [
        rules.Sighting("iban", "DE89370400440532013000", a.pk, now),
        rules.Sighting("iban", "DE89370400440532013000", b.pk, now),
        rules.Sighting("card", "fp-1", a.pk, now),
    ]
    assert rules.rule_r4_shared_identifiers(sightings=sightings) == 2
    assert alerts("R4")[0].evidence["value"] == "…3000"  # an IBAN is not shown in full


# --- the whole -----------------------------------------------------------------------------------


def test_the_tasks_run_the_rules_and_never_write_the_ledger(money):
    client = ClientFactory()
    money.deposit(client, "100", days_ago=400)
    for ago in (2, 1.5, 1):
        money.deposit(client, "9500", days_ago=ago)
    journals, entries = Journal.objects.count(), Entry.objects.count()
    assert tasks.rule_r2() == 1
    assert tasks.rule_r7() == 1
    assert tasks.rule_r1() == 0
    assert tasks.rule_r4() == 0
    assert (Journal.objects.count(), Entry.objects.count()) == (journals, entries)


def test_reversed_deposits_are_not_counted(money):
    from wallets.ledger.services import ledger_reverse

    client = ClientFactory()
    money.deposit(client, "100", days_ago=400)
    journal = money.deposit(client, "7500", days_ago=1)
    ledger_reverse(source="test.chargeback", key=f"rev-{journal}", journal_id=journal)
    assert rules.rule_r7_dormant_funded() == 0


def test_rules_are_scheduled_on_the_default_queue(settings):
    scheduled = {
        entry["task"]: entry["options"]["queue"]
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"].startswith("kyc.riskscore.")
    }
    assert scheduled == {
        **{f"kyc.riskscore.tasks.rule_r{n}": "default" for n in (1, 2, 4, 7)},
        "kyc.riskscore.tasks.refresh_due": "default",
    }
    assert settings.CELERY_TASK_ROUTES["kyc.riskscore.tasks.*"] == {"queue": "default"}


def test_alert_windows_are_ordered(money):
    client = ClientFactory()
    money.deposit(client, "100", days_ago=400)
    money.deposit(client, "7500", days_ago=1)
    rules.rule_r7_dormant_funded()
    alert = alerts("R7")[0]
    assert alert.window_end - alert.window_start > timedelta(days=398)
