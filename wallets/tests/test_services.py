from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.factories import ClientFactory
from wallets.ledger import exceptions as errors
from wallets.ledger.selectors import account_balance, ledger_violations, trial_balance
from wallets.ledger.services import (
    Leg,
    conversion_quote,
    house_account,
    ledger_convert,
    ledger_expire_holds,
    ledger_hold,
    ledger_post_pending,
    ledger_reverse,
    ledger_transfer,
    ledger_void_pending,
    wallet_for_client,
)
from wallets.models import Entry, Journal, LedgerAccount

pytestmark = pytest.mark.django_db
D = Decimal


def _balance(account):
    account.refresh_from_db()
    return account_balance(account=account)


def test_a_transfer_moves_money_and_records_versions(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "100.00")
    result = ledger_transfer(
        source="test",
        key="t1",
        legs=[Leg(usd_wallet, "D", D("30.25")), Leg(other_usd_wallet, "C", D("30.25"))],
    )
    assert result.created
    assert _balance(usd_wallet).posted == D("69.75")
    assert _balance(other_usd_wallet).posted == D("30.25")
    entries = list(Entry.objects.filter(account=usd_wallet).order_by("account_version"))
    assert [(e.account_version, e.balance_after) for e in entries] == [(1, 10000), (2, 6975)]
    assert ledger_violations() == {}


def test_the_same_key_returns_the_first_result_and_changes_nothing(
    usd_wallet, other_usd_wallet, fund
):
    fund(usd_wallet, "10")
    legs = [Leg(usd_wallet, "D", D("1")), Leg(other_usd_wallet, "C", D("1"))]
    first = ledger_transfer(source="test", key="same", legs=legs)
    again = ledger_transfer(source="test", key="same", legs=legs)
    assert again.journal_id == first.journal_id and not again.created
    assert _balance(usd_wallet).posted == D("9.00")


def test_a_reused_key_with_another_payload_is_refused(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "10")
    ledger_transfer(
        source="test",
        key="k",
        legs=[Leg(usd_wallet, "D", D("1")), Leg(other_usd_wallet, "C", D("1"))],
    )
    with pytest.raises(errors.IdempotencyConflict, match="was used for a different request"):
        ledger_transfer(
            source="test",
            key="k",
            legs=[Leg(usd_wallet, "D", D("2")), Leg(other_usd_wallet, "C", D("2"))],
        )
    assert _balance(usd_wallet).posted == D("9.00")


def test_a_changed_memo_alone_is_another_request(usd_wallet, other_usd_wallet, fund):
    # Defaults are left out of what is sent to PostgreSQL, never out of the request's hash.
    fund(usd_wallet, "10")
    legs = [Leg(usd_wallet, "D", D("1")), Leg(other_usd_wallet, "C", D("1"))]
    ledger_transfer(source="test", key="memo", legs=legs)
    with pytest.raises(errors.IdempotencyConflict):
        ledger_transfer(source="test", key="memo", legs=legs, memo="changed")
    assert ledger_transfer(source="test", key="memo", legs=legs).created is False


def test_request_hashes_stay_what_earlier_releases_stored(usd_wallet, other_usd_wallet):
    # Stored journals keep the hash they were posted with, so replaying an old request must
    # hash to the same value: sha256 of the sorted-keys JSON of everything but source, key
    # and actor, as the ledger has always computed it.
    import hashlib
    import json

    from wallets.ledger.services import _payload

    legs = [Leg(usd_wallet, "D", D("1.5")), Leg(other_usd_wallet, "C", D("1.50"))]
    wire = _payload(source="s", key="k", kind="transfer", legs=legs, memo="m")
    material = {
        "kind": "transfer",
        "phase": "posted",
        "legs": [
            {"account": usd_wallet.pk, "direction": "D", "amount": "1.50"},
            {"account": other_usd_wallet.pk, "direction": "C", "amount": "1.50"},
        ],
        "releases": [],
        "memo": "m",
        "external_ref": "",
        "metadata": {},
        "pending_id": None,
        "reverses_id": None,
        "expires_at": None,
    }
    expected = hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode())
    assert wire["hash"] == expected.hexdigest()
    assert "releases" not in wire and wire["memo"] == "m"


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    amount=st.decimals(min_value=D("0.01"), max_value=D("1e12"), places=2),
    memo=st.text(max_size=20),
    ref=st.text(max_size=20),
    metadata=st.dictionaries(st.text(max_size=8), st.one_of(st.integers(), st.text(max_size=8))),
    kind=st.sampled_from(["transfer", "deposit", "commission"]),
    key=st.text(min_size=1, max_size=30),
)
def test_the_batch_encoder_sends_and_hashes_what_payload_would(
    usd_wallet, other_usd_wallet, amount, memo, ref, metadata, kind, key
):
    # ledger_transfer_many writes each request's JSON directly; it must be the same request
    # with the same hash as _payload's, or a replay through the other door would conflict.
    import json

    from wallets.ledger.services import TransferRequest, _payload, _transfer_json

    request = TransferRequest(
        source="s\u00e9",
        key=key,
        kind=kind,
        legs=[Leg(usd_wallet, "D", amount), Leg(other_usd_wallet, "C", amount)],
        memo=memo,
        external_ref=ref,
        metadata=metadata,
    )
    expected = _payload(
        source=request.source,
        key=key,
        kind=kind,
        legs=request.legs,
        memo=memo,
        external_ref=ref,
        metadata=metadata,
    )
    assert json.loads(_transfer_json(request)) == expected


@pytest.mark.parametrize(
    ("amount", "error", "message"),
    [
        ("0", errors.InvalidAmount, "greater than zero"),
        ("-5", errors.InvalidAmount, "greater than zero"),
        ("1.005", errors.InvalidAmount, r"more decimals than USD allows \(2\)"),
    ],
)
def test_bad_amounts_are_refused_and_nothing_is_written(
    usd_wallet, other_usd_wallet, amount, error, message
):
    before = Journal.objects.count()
    with pytest.raises(error, match=message):
        ledger_transfer(
            source="test",
            key=f"bad-{amount}",
            legs=[Leg(usd_wallet, "D", D(amount)), Leg(other_usd_wallet, "C", D(amount))],
        )
    assert Journal.objects.count() == before


def test_an_overdraft_is_refused(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "5")
    with pytest.raises(
        errors.InsufficientFunds, match=r"Insufficient funds in .* 5.00 USD available"
    ):
        ledger_transfer(
            source="test",
            key="od",
            legs=[Leg(usd_wallet, "D", D("5.01")), Leg(other_usd_wallet, "C", D("5.01"))],
        )
    assert _balance(usd_wallet).posted == D("5.00")
    assert not Journal.objects.filter(idempotency_key="od").exists()


def test_unbalanced_and_mixed_currency_legs_are_refused(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "5")
    with pytest.raises(errors.UnbalancedJournal, match="do not balance in USD"):
        ledger_transfer(
            source="test",
            key="unb",
            legs=[Leg(usd_wallet, "D", D("2")), Leg(other_usd_wallet, "C", D("1"))],
        )
    eur = wallet_for_client(client=usd_wallet.client, currency="EUR")
    with pytest.raises(errors.CurrencyMismatch, match="more than one currency"):
        ledger_transfer(
            source="test", key="mix", legs=[Leg(usd_wallet, "D", D("1")), Leg(eur, "C", D("1"))]
        )


def test_a_frozen_account_is_refused(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "5")
    LedgerAccount.objects.filter(pk=other_usd_wallet.pk).update(status="frozen")
    with pytest.raises(errors.AccountNotOpen, match="is frozen"):
        ledger_transfer(
            source="test",
            key="fz",
            legs=[Leg(usd_wallet, "D", D("1")), Leg(other_usd_wallet, "C", D("1"))],
        )


def test_hold_then_partial_post_gives_the_rest_back(usd_wallet, fund):
    fund(usd_wallet, "100")
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    hold = ledger_hold(source="test", key="h1", debit=usd_wallet, credit=transit, amount=D("40"))
    balance = _balance(usd_wallet)
    assert (balance.posted, balance.pending_debits, balance.available) == (
        D("100.00"),
        D("40.00"),
        D("60.00"),
    )
    ledger_post_pending(source="test", key="p1", hold_id=hold.journal_id, amount=D("25"))
    balance = _balance(usd_wallet)
    assert (balance.posted, balance.pending_debits, balance.available) == (
        D("75.00"),
        D("0.00"),
        D("75.00"),
    )
    with pytest.raises(errors.HoldAlreadyResolved):
        ledger_void_pending(source="test", key="v1", hold_id=hold.journal_id)
    # ...while a retry of the post itself returns its first result.
    assert not ledger_post_pending(
        source="test", key="p1", hold_id=hold.journal_id, amount=D("25")
    ).created
    assert ledger_violations() == {}


def test_a_hold_cannot_be_posted_for_more_than_it_holds(usd_wallet, fund):
    fund(usd_wallet, "10")
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    hold = ledger_hold(source="test", key="h", debit=usd_wallet, credit=transit, amount=D("5"))
    with pytest.raises(errors.InvalidAmount, match="the hold is 5.00 USD"):
        ledger_post_pending(source="test", key="p", hold_id=hold.journal_id, amount=D("6"))


def test_void_and_expiry_release_holds(usd_wallet, fund):
    fund(usd_wallet, "10")
    transit = house_account(kind="withdrawals_in_transit", currency="USD")
    voided = ledger_hold(source="test", key="h1", debit=usd_wallet, credit=transit, amount=D("3"))
    ledger_void_pending(source="test", key="v1", hold_id=voided.journal_id)
    ledger_hold(
        source="test",
        key="h2",
        debit=usd_wallet,
        credit=transit,
        amount=D("4"),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    ledger_hold(
        source="test",
        key="h3",
        debit=usd_wallet,
        credit=transit,
        amount=D("2"),
        expires_at=timezone.now() + timedelta(hours=1),
    )
    assert _balance(usd_wallet).available == D("4.00")
    assert ledger_expire_holds() == 1
    assert ledger_expire_holds() == 0
    assert _balance(usd_wallet).available == D("8.00")
    assert ledger_violations() == {}


def test_reversal_restores_balances_once(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "10")
    original = ledger_transfer(
        source="test",
        key="t",
        legs=[Leg(usd_wallet, "D", D("4")), Leg(other_usd_wallet, "C", D("4"))],
    )
    ledger_reverse(source="test", key="r1", journal_id=original.journal_id, memo="wrong client")
    assert _balance(usd_wallet).posted == D("10.00")
    assert _balance(other_usd_wallet).posted == D("0.00")
    with pytest.raises(errors.AlreadyReversed):
        ledger_reverse(source="test", key="r2", journal_id=original.journal_id)
    assert ledger_violations() == {}


def test_conversion_books_the_markup_as_revenue(fund):
    client = ClientFactory()
    usd = wallet_for_client(client=client, currency="USD")
    fund(usd, "100")
    quote = conversion_quote(
        amount=D("100"), sell="USD", buy="EUR", rate=D("0.92345"), markup=D("0.005")
    )
    assert (quote.gross, quote.fee, quote.buy_amount) == (D("92.34"), D("0.46"), D("91.88"))
    ledger_convert(source="test", key="fx1", client=client, quote=quote)
    eur = wallet_for_client(client=client, currency="EUR")
    assert _balance(usd).posted == D("0.00")
    assert _balance(eur).posted == D("91.88")
    revenue = house_account(kind="fx_revenue", currency="EUR")
    assert account_balance(account=revenue).posted == D("0.46")
    journal = Journal.objects.get(idempotency_key="fx1")
    assert journal.metadata["rate"] == "0.92345" and journal.metadata["markup"] == "0.005"
    assert ledger_violations() == {}


def test_trial_balance_sums_to_zero_per_currency(usd_wallet, other_usd_wallet, fund):
    fund(usd_wallet, "12.34")
    fund(other_usd_wallet, "1")
    by_currency: dict[str, Decimal] = {}
    for row in trial_balance():
        by_currency[row.currency] = by_currency.get(row.currency, D(0)) + row.balance
    assert by_currency == {"USD": D("0.00")}


def test_ledger_check_command_passes_on_a_sound_ledger(usd_wallet, fund, capsys):
    fund(usd_wallet, "1")
    call_command("ledger_check")
    assert "ok    journals balance" in capsys.readouterr().out
