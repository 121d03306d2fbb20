"""Wallet <-> trading account transfers against the simulator: the ledger and the trading
server agree at every step, a refusal gives the money back, a lost reply is looked up (never
sent twice), a double submit is one transfer."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core import mail

from clients.models import BalanceOperation, Client, Notice
from clients.platforms.base import comment_has_op_ref
from clients.trading_services import trading_account_open
from wallets.ledger.selectors import account_balance
from wallets.ledger.services import trading_mirror_for_account, wallet_for_client
from wallets.models import Journal
from wallets.transfers.exceptions import TransferError
from wallets.transfers.models import Transfer
from wallets.transfers.services import (
    transfer_offer,
    transfer_process,
    transfer_submit,
    transfer_token_sign,
    transfers_resolve,
)
from wallets.transfers.tests.factories import fund_wallet, verify

pytestmark = pytest.mark.django_db

TO_ACCOUNT, TO_WALLET = Transfer.Direction.TO_ACCOUNT, Transfer.Direction.TO_WALLET


def submit(client, account, amount, direction=TO_ACCOUNT):
    offer = transfer_offer(
        client=client, direction=direction, account_id=account.pk, amount=Decimal(amount)
    )
    token = transfer_token_sign(client=client, offer=offer)
    transfer, created = transfer_submit(client=client, token=token)
    assert created
    return transfer


def balances(client, account):
    wallet = account_balance(account=wallet_for_client(client=client, currency="USD"))
    mirror = account_balance(account=trading_mirror_for_account(account=account))
    return wallet, mirror


def server_balance(sim, account) -> Decimal:
    return sim.users[account.login].balance


def balance_deals(sim, account, op_ref):
    return [
        d
        for d in sim.deals.values()
        if d.login == account.login and d.action == 2 and comment_has_op_ref(d.comment, op_ref)
    ]


def test_wallet_to_account_holds_then_posts_and_the_server_balance_moves(sim, trader, live_account):
    transfer = submit(trader, live_account, "300.00")
    assert transfer.status == Transfer.Status.REQUESTED
    wallet, mirror = balances(trader, live_account)
    # Held, not moved: the wallet can't spend it, the server has nothing yet.
    assert wallet.posted == Decimal("1000.00") and wallet.available == Decimal("700.00")
    assert mirror.posted == Decimal("0.00")
    assert server_balance(sim, live_account) == Decimal("0")

    transfer = transfer_process(transfer_id=transfer.pk)

    assert transfer.status == Transfer.Status.DONE
    assert server_balance(sim, live_account) == Decimal("300.00")
    wallet, mirror = balances(trader, live_account)
    assert wallet.posted == Decimal("700.00") and wallet.available == Decimal("700.00")
    assert mirror.posted == Decimal("300.00")
    assert Journal.objects.get(pk=transfer.post_journal_id).pending_id == transfer.hold_journal_id
    assert len(balance_deals(sim, live_account, transfer.balance_op.op_ref)) == 1
    assert Notice.objects.filter(client=trader, key=f"transfer:{transfer.pk}:done").exists()


def test_a_server_refusal_voids_the_hold_and_tells_the_client(
    sim, sim_server, trader, live_account, django_capture_on_commit_callbacks
):
    transfer = submit(trader, live_account, "300.00")
    sim_server.configure_faults(
        {"retcodes": [{"path": "/api/trade/balance", "retcode": 3, "count": 1}]}
    )
    with django_capture_on_commit_callbacks(execute=True):
        transfer = transfer_process(transfer_id=transfer.pk)

    assert transfer.status == Transfer.Status.FAILED
    assert transfer.void_journal_id is not None and transfer.post_journal_id is None
    wallet, mirror = balances(trader, live_account)
    assert wallet.posted == wallet.available == Decimal("1000.00")
    assert mirror.posted == Decimal("0.00")
    assert server_balance(sim, live_account) == Decimal("0")
    assert "300.00 USD is back in your wallet" in transfer.error
    notice = Notice.objects.get(client=trader, key=f"transfer:{transfer.pk}:failed")
    assert notice.subject == f"Transfer failed: 300.00 USD to MT5 #{live_account.login}"
    assert [m.subject for m in mail.outbox] == [notice.subject]
    # Settled once: processing it again changes nothing.
    assert transfer_process(transfer_id=transfer.pk).status == Transfer.Status.FAILED


def test_a_reply_lost_after_the_server_applied_it_is_looked_up_and_ends_done_once(
    sim, sim_server, trader, live_account
):
    transfer = submit(trader, live_account, "300.00")
    sim_server.configure_faults({"balance_timeout": {"count": 1, "delay_ms": 50}})

    transfer = transfer_process(transfer_id=transfer.pk)

    assert transfer.status == Transfer.Status.UNKNOWN
    assert transfer.balance_op.status == BalanceOperation.Status.UNKNOWN
    # The server has it; the ledger still only holds it.
    assert server_balance(sim, live_account) == Decimal("300.00")
    wallet, mirror = balances(trader, live_account)
    assert wallet.available == Decimal("700.00") and wallet.posted == Decimal("1000.00")

    assert transfers_resolve(older_than=timedelta(0)) == 1

    transfer.refresh_from_db()
    assert transfer.status == Transfer.Status.DONE
    assert server_balance(sim, live_account) == Decimal("300.00")
    assert len(balance_deals(sim, live_account, transfer.balance_op.op_ref)) == 1
    wallet, mirror = balances(trader, live_account)
    assert wallet.posted == Decimal("700.00") and mirror.posted == Decimal("300.00")
    assert transfers_resolve(older_than=timedelta(0)) == 0  # nothing left in flight


def test_account_to_wallet_is_limited_to_the_free_margin_the_server_reports(
    sim, trader, live_account
):
    transfer_process(transfer_id=submit(trader, live_account, "300.00").pk)
    sim.open_position(live_account.login, "EURUSD", 0, 10_000_000)  # 0.1 lot: margin used
    free = sim.account(live_account.login)["MarginFree"]
    assert free < Decimal("300")

    with pytest.raises(TransferError) as refused:
        transfer_offer(
            client=trader,
            direction=TO_WALLET,
            account_id=live_account.pk,
            amount=Decimal("290.00"),
        )
    assert refused.value.message == (
        f"MT5 #{live_account.login} has {free.quantize(Decimal('0.01')):,} USD of free margin "
        "now; you can transfer at most that. Close positions or transfer less."
    )
    assert refused.value.field == "amount"

    back = transfer_process(transfer_id=submit(trader, live_account, "100.00", TO_WALLET).pk)

    assert back.status == Transfer.Status.DONE and back.hold_journal_id is None
    wallet, mirror = balances(trader, live_account)
    assert wallet.posted == Decimal("800.00") and mirror.posted == Decimal("200.00")
    assert server_balance(sim, live_account) < Decimal("200.00")  # 200 less the commission


def test_a_refused_withdrawal_from_the_account_moves_nothing_in_the_ledger(
    sim, trader, live_account
):
    transfer_process(transfer_id=submit(trader, live_account, "300.00").pk)
    transfer = submit(trader, live_account, "250.00", TO_WALLET)
    # Between the check and the send, the trader lost money on the server.
    sim.balance_op(live_account.login, 2, "-100.00", "dealer", check_margin=False)

    transfer = transfer_process(transfer_id=transfer.pk)

    assert transfer.status == Transfer.Status.FAILED
    assert "does not have enough free margin" in transfer.error
    wallet, mirror = balances(trader, live_account)
    assert wallet.posted == Decimal("700.00") and mirror.posted == Decimal("300.00")


def test_the_same_confirmation_submitted_twice_is_one_transfer(trader, live_account):
    offer = transfer_offer(
        client=trader, direction=TO_ACCOUNT, account_id=live_account.pk, amount=Decimal("300")
    )
    token = transfer_token_sign(client=trader, offer=offer)
    first, created = transfer_submit(client=trader, token=token)
    again, created_again = transfer_submit(client=trader, token=token)
    assert created and not created_again and first.pk == again.pk
    assert Transfer.objects.count() == 1
    assert Journal.objects.filter(source="transfer", kind="hold").count() == 1
    wallet, _ = balances(trader, live_account)
    assert wallet.available == Decimal("700.00")


def test_a_double_submitted_form_makes_one_transfer(client, owner, trader, live_account):
    client.force_login(owner)
    form = {"source": "wallet:USD", "target": f"account:{live_account.pk}", "amount": "300"}
    page = client.post("/portal/transfer/", form).content.decode()
    sentence = f"Transfer 300.00 USD from Wallet to MT5 #{live_account.login}"
    assert sentence in page
    token = page.split('name="token" value="')[1].split('"')[0]
    first = client.post("/portal/transfer/", {**form, "token": token, "confirm": "1"})
    second = client.post("/portal/transfer/", {**form, "token": token, "confirm": "1"})
    transfer = Transfer.objects.get()
    assert first["Location"] == second["Location"] == f"/portal/transfers/{transfer.pk}/"
    detail = client.get(first["Location"]).content.decode()
    assert "Waiting for the trading server" in detail and 'hx-trigger="every 2s"' in detail
    history = client.get("/portal/transfers/").content.decode()
    assert f"MT5 #{live_account.login}" in history and "300.00" in history


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "The amount must be greater than zero."),
        ("-5", "The amount must be greater than zero."),
        ("10.005", "10.005 has more decimals than USD allows (2)."),
        ("1500", "You have 1,000.00 USD available in your USD wallet."),
        ("50", "The first transfer to a Standard account must be at least 100.00 USD."),
    ],
)
def test_bad_amounts_are_refused_in_words(client, owner, trader, live_account, amount, message):
    client.force_login(owner)
    form = {"source": "wallet:USD", "target": f"account:{live_account.pk}", "amount": amount}
    page = client.post("/portal/transfer/", form).content.decode()
    assert message in page
    assert f'value="{amount}"' in page  # the form keeps what was typed
    assert not Transfer.objects.exists()


def test_a_client_below_the_transfer_level_is_told_why(trader, live_account):
    verify(trader, level=0)
    registered = Client.objects.get(pk=trader.pk)
    with pytest.raises(TransferError, match="Transferring needs identity verified status"):
        transfer_offer(
            client=registered,
            direction=TO_ACCOUNT,
            account_id=live_account.pk,
            amount=Decimal("300"),
        )


def test_another_clients_trading_account_is_refused(
    client, outsider, trader, live_account, standard
):
    other = verify(outsider.client)
    fund_wallet(other, "500.00")
    trading_account_open(client=other, product=standard, leverage=100)
    client.force_login(outsider)
    form = {"source": "wallet:USD", "target": f"account:{live_account.pk}", "amount": "100"}
    page = client.post("/portal/transfer/", form).content.decode()
    assert "Choose one of your wallets or live trading accounts." in page
    with pytest.raises(TransferError, match="Choose one of your live trading accounts."):
        transfer_offer(
            client=other, direction=TO_ACCOUNT, account_id=live_account.pk, amount=Decimal("100")
        )
    # A confirmation made for the owner is no good to anyone else.
    offer = transfer_offer(
        client=trader, direction=TO_ACCOUNT, account_id=live_account.pk, amount=Decimal("100")
    )
    token = transfer_token_sign(client=trader, offer=offer)
    with pytest.raises(TransferError, match="This confirmation is not valid"):
        transfer_submit(client=other, token=token)
    transfer = submit(trader, live_account, "100")
    assert client.get(f"/portal/transfers/{transfer.pk}/").status_code == 404
    assert f"MT5 #{live_account.login}" not in client.get("/portal/transfers/").content.decode()


def test_between_two_wallets_the_form_points_to_convert(client, owner, trader, live_account):
    fund_wallet(trader, "100.00", "EUR")
    client.force_login(owner)
    page = client.post(
        "/portal/transfer/", {"source": "wallet:EUR", "target": "wallet:USD", "amount": "10"}
    ).content.decode()
    assert "To move money between your wallets, use Convert" in page
    assert 'href="/portal/wallets/convert/"' in page
    mismatch = client.post(
        "/portal/transfer/",
        {"source": "wallet:EUR", "target": f"account:{live_account.pk}", "amount": "10"},
    ).content.decode()
    assert f"MT5 #{live_account.login} is in USD: use your USD wallet" in mismatch


def test_the_send_is_enqueued_on_the_platform_queue_after_commit(
    trader, live_account, django_capture_on_commit_callbacks
):
    from brokerage.celery import app

    with (
        mock.patch("wallets.transfers.tasks.transfer_send.apply_async") as enqueue,
        django_capture_on_commit_callbacks(execute=True),
    ):
        transfer = submit(trader, live_account, "300.00")
    enqueue.assert_called_once_with(args=[transfer.pk], queue="platform")
    for name in ("wallets.transfers.tasks.transfer_send", "wallets.transfers.tasks.resolve"):
        assert app.amqp.router.route({}, name)["queue"].name == "platform"


def test_the_pending_page_polls_only_its_status(client, owner, trader, live_account):
    transfer = submit(trader, live_account, "300.00")
    client.force_login(owner)
    fragment = client.get(
        f"/portal/transfers/{transfer.pk}/", headers={"HX-Request": "true"}
    ).content.decode()
    assert "<html" not in fragment and 'hx-trigger="every 2s"' in fragment
    transfer_process(transfer_id=transfer.pk)
    done = client.get(
        f"/portal/transfers/{transfer.pk}/", headers={"HX-Request": "true"}
    ).content.decode()
    assert "hx-trigger" not in done and f"is on MT5 #{live_account.login}" in done


def test_finance_sees_transfers_in_flight_with_their_server_reference(client, trader, live_account):
    from brokerage import roles
    from tests.factories import login_staff, make_staff

    pending = submit(trader, live_account, "300.00")
    login_staff(client, make_staff(roles.FINANCE))
    page = client.get("/backoffice/transfers/").content.decode()
    assert f"#{pending.pk}" in page and f"CRM#{pending.balance_op.op_ref}" in page
    transfer_process(transfer_id=pending.pk)
    assert f"#{pending.pk} " not in client.get("/backoffice/transfers/").content.decode()
    done = client.get("/backoffice/transfers/", {"status": "done"}).content.decode()
    assert f"#{pending.pk} " in done and "deal " in done
