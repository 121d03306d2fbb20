from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.vary import vary_on_headers

from brokerage.csv_export import csv_cell, csv_response
from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, portal_view
from wallets import selectors
from wallets.exceptions import AdjustmentError, ConversionError
from wallets.forms import (
    AccountFilterForm,
    AdjustmentDecisionForm,
    AdjustmentRequestForm,
    ConvertForm,
    FxRateForm,
    JournalFilterForm,
    PeriodForm,
)
from wallets.ledger.selectors import account_balance, statement_entries
from wallets.models import FxRate, LedgerAccount, ManualAdjustment
from wallets.money import money_text
from wallets.services import (
    QUOTE_MAX_AGE,
    adjustment_approve,
    adjustment_reject,
    adjustment_request,
    conversion_quote_sign,
    fx_rate_set,
    wallet_convert,
)

PAGE_SIZE = 25


def _fragment(request: AuthedHttpRequest, template: str) -> str:
    # A history restore wants the whole page, not the fragment (htmx sends HX-Request then).
    if request.htmx and not request.htmx.history_restore_request:
        return template + "#results"
    return template


# --- statements (the same component in the portal and the back-office) -----------------------


def _statement_csv(entries: Any, filename: str) -> StreamingHttpResponse:
    def rows() -> Iterator[list[Any]]:
        for entry in entries.iterator(chunk_size=2000):
            [row] = selectors.statement_rows([entry])
            yield [
                row.at.isoformat(timespec="seconds"),
                row.journal_id,
                row.kind_label,
                csv_cell(row.description),
                csv_cell(row.reference),
                "pending" if row.pending else "posted",
                str(row.amount),
                row.currency,
                "" if row.balance_after is None else str(row.balance_after),
            ]

    header = ["Date (UTC)", "Journal", "Kind", "Description", "Reference", "Status",
              "Amount", "Currency", "Balance after"]  # fmt: skip
    return csv_response(header=header, rows=rows(), filename=filename)


def _statement(
    request: AuthedHttpRequest,
    *,
    account: LedgerAccount,
    template: str,
    csv_name: str,
    context: dict[str, Any],
) -> HttpResponseBase:
    form = PeriodForm(request.GET or None)
    start, end = form.period()
    entries = statement_entries(account=account, start=start, end=end, kind=form.kind_value())
    if request.GET.get("format") == "csv":
        return _statement_csv(entries, csv_name)
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = selectors.statement_rows(page.object_list)
    filtered = bool(start or end or form.kind_value())
    return render(
        request,
        _fragment(request, template),
        {
            **context,
            "account": account,
            "balance": account_balance(account=account),
            "form": form,
            "page": page,
            "rows": rows,
            "filtered": filtered,
        },
    )


# --- the trader's room -------------------------------------------------------------------------


@portal_view
def wallet_list(request: AuthedHttpRequest) -> HttpResponse:
    overview = selectors.wallet_overview(client=request.user.client)
    return render(request, "wallets/wallet_list.html", {"overview": overview})


@portal_view
@vary_on_headers("HX-Request")
def wallet_statement(request: AuthedHttpRequest, currency: str) -> HttpResponseBase:
    account = selectors.wallet_get_for_user(user=request.user, currency=currency)
    return _statement(
        request,
        account=account,
        template="wallets/wallet_statement.html",
        csv_name=f"statement-{account.currency_id}.csv",
        context={},
    )


@portal_view
def wallet_convert_view(request: AuthedHttpRequest) -> HttpResponse:
    client = request.user.client
    sell_codes, buy_codes = selectors.conversion_currencies(client=client)
    sell_choices = [
        (
            c,
            f"{c} · {money_text(selectors.wallet_available(client=client, currency=c), c)} available",
        )
        for c in sell_codes
    ]
    initial = {
        "sell": request.GET.get("from", ""),
        "buy": request.GET.get("to", ""),
        "amount": request.GET.get("amount", ""),
    }
    form = ConvertForm(request.POST or None, sell=sell_choices, buy=buy_codes, initial=initial)
    quote = None
    token = ""
    notice = ""
    if request.method == "POST":
        if "confirm" in request.POST:
            try:
                done = wallet_convert(
                    client=client, token=request.POST.get("token", ""), actor=request.user
                )
            except ConversionError as exc:
                if exc.field:
                    form.is_valid()
                    form.add_error(exc.field, exc.message)
                else:
                    notice = exc.message  # expired or tampered: quote again below
            else:
                q = done.quote
                sentence = (
                    f"{money_text(q.sell_amount, q.sell_currency)} to "
                    f"{money_text(q.buy_amount, q.buy_currency)}"
                )
                if done.created:
                    messages.success(request, f"Converted {sentence}.")
                else:
                    messages.info(request, f"This conversion was already done: {sentence}.")
                return redirect("wallets:wallet-list")
        if not form.errors and form.is_valid():
            try:
                quote = selectors.conversion_offer(
                    client=client,
                    sell=form.cleaned_data["sell"],
                    buy=form.cleaned_data["buy"],
                    amount=form.cleaned_data["amount"],
                )
            except ConversionError as exc:
                form.add_error(exc.field, exc.message)
            else:
                token = conversion_quote_sign(client=client, quote=quote)
    return render(
        request,
        "wallets/wallet_convert.html",
        {
            "form": form,
            "quote": quote,
            "sentence": selectors.quote_sentence(quote) if quote else "",
            "token": token,
            "amount_raw": str(quote.sell_amount) if quote else "",
            "notice": notice,
            "has_wallets": bool(sell_codes),
            "quote_minutes": QUOTE_MAX_AGE // 60,
        },
    )


# --- back-office: the ledger explorer ----------------------------------------------------------


@backoffice_view("view_payments")
@vary_on_headers("HX-Request")
def ledger_accounts(request: AuthedHttpRequest) -> HttpResponse:
    form = AccountFilterForm(request.GET or None, currencies=selectors.currency_codes())
    data = form.cleaned_data if form.is_valid() else {}
    accounts = selectors.ledger_account_list(
        search=data.get("q", "").strip(),
        kind=data.get("kind", ""),
        currency=data.get("currency", ""),
        owner=data.get("owner", ""),
    )
    page = Paginator(accounts, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(a, account_balance(account=a)) for a in page.object_list]
    filtered = any(data.values())
    return render(
        request,
        _fragment(request, "wallets/ledger_accounts.html"),
        {"form": form, "page": page, "rows": rows, "filtered": filtered},
    )


@backoffice_view("view_payments")
@vary_on_headers("HX-Request")
def ledger_account(request: AuthedHttpRequest, pk: int) -> HttpResponseBase:
    account = selectors.ledger_account_get(pk=pk)
    return _statement(
        request,
        account=account,
        template="wallets/ledger_account.html",
        csv_name=f"statement-{account.currency_id}-{account.pk}.csv",
        context={},
    )


@backoffice_view("view_payments")
@vary_on_headers("HX-Request")
def ledger_journals(request: AuthedHttpRequest) -> HttpResponse:
    form = JournalFilterForm(request.GET or None)
    start, end = form.period()
    client = form.cleaned_data.get("client", "").strip() if form.is_valid() else ""
    account_id = request.GET.get("account", "")
    journals = selectors.ledger_journal_list(
        kind=form.kind_value(),
        start=start,
        end=end,
        client=client,
        account_id=int(account_id) if account_id.isdigit() else None,
    )
    page = Paginator(journals, PAGE_SIZE).get_page(request.GET.get("page"))
    totals = selectors.journal_totals(journal_ids=[j.pk for j in page.object_list])
    rows = [(j, totals.get(j.pk, [])) for j in page.object_list]
    filtered = bool(start or end or form.kind_value() or client or account_id)
    return render(
        request,
        _fragment(request, "wallets/ledger_journals.html"),
        {"form": form, "page": page, "rows": rows, "filtered": filtered},
    )


@backoffice_view("view_payments")
def ledger_journal(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    journal, lines = selectors.ledger_journal_get(pk=pk)
    return render(
        request,
        "wallets/ledger_journal.html",
        {
            "journal": journal,
            "lines": lines,
            "description": selectors.journal_description(journal),
            **selectors.journal_links(journal=journal),
        },
    )


@backoffice_view("view_payments")
def ledger_trial_balance(request: AuthedHttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    _, as_of = form.period()
    return render(
        request,
        "wallets/ledger_trial_balance.html",
        {
            "form": form,
            "as_of": form.cleaned_data.get("end") if form.is_valid() else None,
            "currencies": selectors.trial_balance_by_currency(as_of=as_of),
        },
    )


# --- back-office: FX rates ---------------------------------------------------------------------


@backoffice_view("view_payments")
def fx_rates(request: AuthedHttpRequest) -> HttpResponse:
    return render(request, "wallets/fx_rates.html", {"rates": selectors.fx_rate_list()})


def _fx_rate_form(request: AuthedHttpRequest, instance: FxRate | None) -> HttpResponse:
    form = FxRateForm(
        request.POST or None, currencies=selectors.currency_codes(), instance=instance
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            fx = fx_rate_set(
                base=data["base"],
                quote=data["quote"],
                rate=data["rate"],
                markup=data["markup"],
                actor=request.user,
            )
        except ConversionError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                f"{fx.base_id} → {fx.quote_id} now converts at {fx.rate.normalize():f} "
                f"with a markup of {fx.markup * 100:.3f} %.",
            )
            return redirect("wallets:ledger-fx-rates")
    return render(request, "wallets/fx_rate_form.html", {"form": form, "rate": instance})


@backoffice_view("change_payments")
def fx_rate_new(request: AuthedHttpRequest) -> HttpResponse:
    return _fx_rate_form(request, None)


@backoffice_view("change_payments")
def fx_rate_edit(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    return _fx_rate_form(request, selectors.fx_rate_get(pk=pk))


# --- back-office: manual adjustments -----------------------------------------------------------


@backoffice_view("view_payments")
def adjustments(request: AuthedHttpRequest) -> HttpResponse:
    status = request.GET.get("status", ManualAdjustment.Status.PENDING)
    if status not in ManualAdjustment.Status.values and status != "all":
        status = ManualAdjustment.Status.PENDING
    items = selectors.adjustment_list(status="" if status == "all" else status)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    approvers = selectors.adjustment_approvers()
    rows = [
        (a, [u for u in approvers if u.pk != a.requested_by_id] if a.status == "pending" else [])
        for a in page.object_list
    ]
    return render(
        request,
        "wallets/adjustments.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "statuses": [
                ("pending", "Pending approval"),
                ("approved", "Approved"),
                ("rejected", "Rejected"),
                ("all", "All"),
            ],
            "pending_count": selectors.adjustment_pending_count(),
        },
    )


@backoffice_view("change_payments")
def adjustment_new(request: AuthedHttpRequest) -> HttpResponse:
    initial: dict[str, Any] = {"direction": ManualAdjustment.Direction.CREDIT}
    account_id = request.GET.get("account", "")
    if account_id.isdigit():
        account = (
            LedgerAccount.objects.filter(pk=int(account_id), kind=LedgerAccount.Kind.WALLET)
            .select_related("client__user")
            .first()
        )
        if account is not None and account.client is not None:
            initial.update(client=account.client.user.email, currency=account.currency_id)
    form = AdjustmentRequestForm(
        request.POST or None, currencies=selectors.currency_codes(), initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            adjustment = adjustment_request(
                client=data["client"],
                currency=data["currency"],
                direction=data["direction"],
                amount=data["amount"],
                reason=data["reason"],
                reason_text=data["reason_text"],
                actor=request.user,
            )
        except AdjustmentError as exc:
            form.add_error(exc.field, exc.message)
        else:
            messages.success(
                request,
                f"Adjustment #{adjustment.pk} is waiting for a second finance person to "
                "approve it. Nothing moves until then.",
            )
            return redirect("wallets:adjustment", pk=adjustment.pk)
    return render(request, "wallets/adjustment_form.html", {"form": form})


@backoffice_view("view_payments")
def adjustment_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    adjustment = selectors.adjustment_get(pk=pk)
    can_decide = request.user.has_perm("brokerage.change_payments")
    form = AdjustmentDecisionForm(request.POST or None)
    if request.method == "POST":
        if not can_decide:
            raise PermissionDenied("Only finance staff may decide adjustments.")
        if form.is_valid():
            decision = form.cleaned_data["decision"]
            note = form.cleaned_data["note"]
            try:
                if decision == "approve":
                    adjustment_approve(adjustment_id=adjustment.pk, actor=request.user, note=note)
                else:
                    adjustment_reject(adjustment_id=adjustment.pk, actor=request.user, note=note)
            except AdjustmentError as exc:
                form.add_error(exc.field if exc.field else None, exc.message)
            else:
                messages.success(
                    request,
                    f"Adjustment #{adjustment.pk} approved and posted."
                    if decision == "approve"
                    else f"Adjustment #{adjustment.pk} rejected; nothing was posted.",
                )
                return redirect("wallets:adjustments")
        adjustment.refresh_from_db()
    approvers = [u for u in selectors.adjustment_approvers() if u.pk != adjustment.requested_by_id]
    signed = adjustment.amount if adjustment.direction == "credit" else -adjustment.amount
    return render(
        request,
        "wallets/adjustment_detail.html",
        {
            "adjustment": adjustment,
            "signed_amount": signed,
            "balance": account_balance(account=adjustment.account),
            "approvers": approvers,
            "form": form,
            "can_decide": can_decide
            and adjustment.status == ManualAdjustment.Status.PENDING
            and adjustment.requested_by_id != request.user.pk,
            "is_requester": adjustment.requested_by_id == request.user.pk,
            "amount_text": money_text(adjustment.amount, adjustment.currency_id),
        },
    )


# --- the payments desk's hub ---------------------------------------------------------------------


@backoffice_view("view_payments")
def payments(request: HttpRequest) -> HttpResponse:
    from wallets.payments.selectors import payments_headline
    from wallets.withdrawals.selectors import withdrawals_waiting

    return render(
        request,
        "wallets/payments.html",
        {"headline": payments_headline(), "withdrawals_waiting": withdrawals_waiting()},
    )
