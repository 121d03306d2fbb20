from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.vary import vary_on_headers

from brokerage.csv_export import csv_cell, csv_response
from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from kyc.policy import client_frozen
from wallets.ledger.selectors import account_balance, statement_entries
from wallets.ledger.services import currency_exponent, wallet_for_client
from wallets.models import LedgerAccount
from wallets.money import money_text
from wallets.selectors import adjustment_approvers, currency_codes, statement_rows
from wallets.withdrawals import selectors
from wallets.withdrawals.exceptions import WithdrawalError
from wallets.withdrawals.forms import ActionForm, QueueFilterForm, WithdrawForm
from wallets.withdrawals.models import Withdrawal
from wallets.withdrawals.services import (
    new_request_token,
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_check,
    withdrawal_mark_failed,
    withdrawal_mark_paid,
    withdrawal_reject,
    withdrawal_request,
)

PAGE_SIZE = 25


# --- the trader's room -------------------------------------------------------------------------


@portal_view
def withdraw(request: AuthedHttpRequest) -> HttpResponse:
    """Step 1: amount and destination; step 2: a confirmation saying exactly what happens,
    carrying a fresh token so a double submit holds once."""
    from kyc.policy import kyc_may

    client = request.user.client
    verdict = kyc_may(client=client, action="withdraw")
    wallets = selectors.withdrawable_currencies(client=client)
    currencies = [(c, f"{c} · {money_text(a, c)} available") for c, a in wallets]
    dues = {c: selectors.closed_loop_dues(client=client, currency=c) for c, _ in wallets}
    methods = {d.method.pk: d.method for ds in dues.values() for d in ds}
    method_choices = [(f"method:{pk}", f"Back to {m.name}") for pk, m in methods.items()]
    limit = selectors.daily_limit(client=client, level=verdict.level)
    initial = {"currency": request.GET.get("currency", "")}
    form = WithdrawForm(
        request.POST or None, currencies=currencies, methods=method_choices, initial=initial
    )
    checked = None
    token = ""
    if request.method == "POST" and verdict.allowed and form.is_valid():
        data = form.cleaned_data
        destination = form.destination_value(methods)
        try:
            if "confirm" in request.POST:
                done = withdrawal_request(
                    client=client,
                    actor=request.user,
                    amount=data["amount"],
                    currency=data["currency"],
                    destination=destination,
                    token=request.POST.get("token", ""),
                )
                w = done.withdrawal
                amount = money_text(w.amount, w.currency)
                if done.created:
                    messages.success(
                        request,
                        f"Withdrawal #{w.pk} of {amount} requested. The money is held in your "
                        "wallet until finance pays it out.",
                    )
                else:
                    messages.info(request, f"Withdrawal #{w.pk} of {amount} was already requested.")
                return redirect("withdrawals:portal-detail", pk=w.pk)
            checked = withdrawal_check(
                client=client,
                amount=data["amount"],
                currency=data["currency"],
                destination=destination,
            )
            token = new_request_token()
        except WithdrawalError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
    return render(
        request,
        "withdrawals/withdraw.html",
        {
            "form": form,
            "verdict": verdict,
            "wallets": wallets,
            "dues": [(c, d) for c, d in dues.items() if d],
            "limit": limit,
            "checked": checked,
            "token": token,
        },
    )


@portal_view
def portal_list(request: AuthedHttpRequest) -> HttpResponse:
    items = selectors.withdrawal_list_for_client(client=request.user.client)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "withdrawals/portal_list.html", {"page": page})


@portal_view
def portal_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    withdrawal = selectors.withdrawal_get_for_user(user=request.user, pk=pk)
    error = ""
    if request.method == "POST" and request.POST.get("action") == "cancel":
        try:
            withdrawal_cancel(
                withdrawal_id=withdrawal.pk, client=request.user.client, actor=request.user
            )
        except WithdrawalError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                f"Withdrawal #{withdrawal.pk} cancelled: "
                f"{money_text(withdrawal.amount, withdrawal.currency)} is available again.",
            )
            return redirect("withdrawals:portal-detail", pk=withdrawal.pk)
        withdrawal.refresh_from_db()
    return render(
        request,
        "withdrawals/portal_detail.html",
        {
            "withdrawal": withdrawal,
            "events": withdrawal.transitions.all(),
            "error": error,
            "amount_text": money_text(withdrawal.amount, withdrawal.currency),
        },
    )


# --- back-office -------------------------------------------------------------------------------


def _queue_csv(items: Any) -> HttpResponseBase:
    def rows() -> Iterator[list[Any]]:
        for w in items.iterator(chunk_size=500):
            yield [
                w.pk,
                w.requested_at.isoformat(timespec="seconds"),
                w.client_id,
                csv_cell(w.client.name),
                csv_cell(w.client.user.email),
                str(w.amount.quantize(Decimal(1).scaleb(-currency_exponent(w.currency)))),
                w.currency,
                w.get_destination_display(),
                csv_cell(w.method.name if w.method else w.iban),
                w.get_status_display(),
                w.approvals_required,
                "; ".join(a.approver.email for a in w.approvals.all()),
                csv_cell(w.reason),
                csv_cell(w.payout_reference),
            ]

    header = ["Withdrawal", "Requested (UTC)", "Client id", "Client", "E-mail", "Amount",
              "Currency", "Destination", "Method or IBAN", "Status", "Approvals needed",
              "Approved by", "Reason", "Payout reference"]  # fmt: skip
    return csv_response(header=header, rows=rows(), filename="withdrawals.csv")


@backoffice_view("view_payments")
@vary_on_headers("HX-Request")
def queue(request: AuthedHttpRequest) -> HttpResponseBase:
    form = QueueFilterForm(
        request.GET or None, currencies=currency_codes(), initial={"status": "pending"}
    )
    values = form.values()
    items = selectors.withdrawal_queue(**values)
    if request.GET.get("format") == "csv":
        return _queue_csv(items)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    staff = adjustment_approvers()
    rows = [
        (
            w,
            selectors.withdrawal_age(w),
            selectors.next_approvers(withdrawal=w, staff=staff),
        )
        for w in page.object_list
    ]
    template = "withdrawals/queue.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(
        request,
        template,
        {
            "form": form,
            "page": page,
            "rows": rows,
            "status": values["status"],
            "query": request.GET.urlencode(),
        },
    )


CONFIRM = {
    "approve": "Approve",
    "reject": "Reject",
    "paid": "Mark paid",
    "failed": "Record the failed payout",
}


def _sentence(withdrawal: Withdrawal, action: str, data: dict[str, Any]) -> str:
    amount = money_text(withdrawal.amount, withdrawal.currency)
    to = withdrawal.destination_text
    if action == "approve":
        left = withdrawal.approvals_required - withdrawal.approvals.count()
        if left > 1:
            return (
                f"Approve withdrawal #{withdrawal.pk} of {amount} to {to}. It then waits for a "
                "second, different finance person; nothing is paid yet."
            )
        return (
            f"Approve withdrawal #{withdrawal.pk} of {amount} to {to}: it becomes ready to pay "
            "out and the client is told it is approved."
        )
    if action == "reject":
        return (
            f"Reject withdrawal #{withdrawal.pk}: {amount} goes back to the client's available "
            f"balance, and they read your reason: “{data.get('reason', '')}”."
        )
    if action == "paid":
        return (
            f"Confirm that {amount} was sent to {to} with reference "
            f"“{data.get('reference', '')}”: {amount} leaves the client's wallet for good and "
            "the client is told it is paid."
        )
    return (
        f"Record that the payout of {amount} failed: it goes back to the client's available "
        f"balance, and they read your reason: “{data.get('reason', '')}”."
    )


@backoffice_view("view_payments")
def detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    withdrawal = selectors.withdrawal_get(pk=pk)
    can_act = request.user.has_perm("brokerage.change_payments")
    form = ActionForm(request.POST or None)
    confirm = ""
    if request.method == "POST":
        if not can_act:
            raise PermissionDenied("Only finance staff may decide withdrawals.")
        if form.is_valid():
            data = form.cleaned_data
            action = data["action"]
            if action in ("reject", "failed") and not data["reason"].strip():
                form.add_error("reason", "Say why: the client reads this.")
            elif action == "paid" and not data["reference"].strip():
                form.add_error("reference", "Enter the payout's reference.")
            elif "confirm" not in request.POST:
                confirm = _sentence(withdrawal, action, data)
            else:
                try:
                    if action == "approve":
                        withdrawal_approve(
                            withdrawal_id=withdrawal.pk, actor=request.user, note=data["note"]
                        )
                    elif action == "reject":
                        withdrawal_reject(
                            withdrawal_id=withdrawal.pk, actor=request.user, reason=data["reason"]
                        )
                    elif action == "paid":
                        withdrawal_mark_paid(
                            withdrawal_id=withdrawal.pk,
                            actor=request.user,
                            reference=data["reference"],
                        )
                    else:
                        withdrawal_mark_failed(
                            withdrawal_id=withdrawal.pk, actor=request.user, reason=data["reason"]
                        )
                except WithdrawalError as exc:
                    form.add_error(exc.field if exc.field in form.fields else None, exc.message)
                else:
                    withdrawal.refresh_from_db()
                    messages.success(
                        request,
                        f"Withdrawal #{withdrawal.pk}: {withdrawal.get_status_display().lower()}.",
                    )
                    return redirect("withdrawals:detail", pk=withdrawal.pk)
        withdrawal.refresh_from_db()
    wallet = LedgerAccount.objects.filter(
        client=withdrawal.client, kind=LedgerAccount.Kind.WALLET, currency_id=withdrawal.currency
    ).first() or wallet_for_client(client=withdrawal.client, currency=withdrawal.currency)
    history = statement_rows(statement_entries(account=wallet)[:15])
    approvals = list(withdrawal.approvals.select_related("approver"))
    return render(
        request,
        "withdrawals/detail.html",
        {
            "withdrawal": withdrawal,
            "form": form,
            "confirm": confirm,
            "confirm_label": CONFIRM.get(form.data.get("action", ""), ""),
            "can_act": can_act,
            "why_not_approve": selectors.may_approve(withdrawal=withdrawal, user=request.user),
            "approvals": approvals,
            "next_approvers": selectors.next_approvers(withdrawal=withdrawal),
            "events": withdrawal.transitions.select_related("actor"),
            "wallet": wallet,
            "balance": account_balance(account=wallet),
            "history": history,
            "age": selectors.withdrawal_age(withdrawal),
            "amount_text": money_text(withdrawal.amount, withdrawal.currency),
            "holder_differs": withdrawal.destination == "bank"
            and withdrawal.account_holder.casefold() != withdrawal.client.name.casefold(),
            "frozen": client_frozen(client=withdrawal.client),
        },
    )
