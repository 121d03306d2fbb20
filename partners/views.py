from __future__ import annotations

import secrets
from datetime import UTC

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from brokerage.audit import client_ip
from brokerage.http import AuthedHttpRequest
from brokerage.permissions import backoffice_view, partner_view, portal_view
from partners import selectors
from partners.commissions import selectors as commission_selectors
from partners.commissions.forms import PlanAssignForm
from partners.exceptions import PartnerError
from partners.forms import (
    PartnerApplyForm,
    PartnerDecisionForm,
    PartnerFilterForm,
    PartnerMoveForm,
    ReassignForm,
    ReferralLinkForm,
)
from partners.models import LANDING_PAGES, Partner, ReferralLink
from partners.services import (
    DEVICE_COOKIE,
    REFERRAL_COOKIE,
    REFERRAL_COOKIE_SALT,
    partner_apply,
    partner_approve,
    partner_move,
    partner_reject,
    referral_cookie_code,
    referral_link_click,
    referral_link_create,
)

DEVICE_COOKIE_AGE = 2 * 365 * 86400


def _device_id(request: HttpRequest) -> str:
    """The browser's device cookie, or a new one (kept on the request for the response)."""
    if not hasattr(request, "_partners_device"):
        request._partners_device = (  # type: ignore[attr-defined]
            request.COOKIES.get(DEVICE_COOKIE, "")[:64] or secrets.token_urlsafe(24)
        )
    return str(request._partners_device)  # type: ignore[attr-defined]


def _set_device_cookie(request: HttpRequest, response: HttpResponse) -> None:
    if DEVICE_COOKIE not in request.COOKIES:
        response.set_cookie(
            DEVICE_COOKIE,
            _device_id(request),
            max_age=DEVICE_COOKIE_AGE,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )


def qr_svg(url: str) -> SafeString:
    """The QR code of a URL as inline SVG (no image request, no data: URL)."""
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, border=2)
    svg = image.to_string(encoding="unicode").replace(' id="qr-path"', "")  # ids must be unique
    return mark_safe(svg)  # noqa: S308 (our own SVG of a URL we built)


def _link_url(request: HttpRequest, link: ReferralLink) -> str:
    return request.build_absolute_uri(f"/r/{link.code}/")


# --- the referral link (public) --------------------------------------------------------------


def referral_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """Count the click, remember the first touch (a later link doesn't replace it) and send
    the visitor to the link's landing page. An unknown code goes to the home page."""
    link = selectors.referral_link_by_code(code)
    if link is None:
        return redirect("/")
    referral_link_click(link=link)
    # Only a page of the allow-list, whatever the row says: never an open redirect.
    response = redirect(link.landing_path if link.landing_path in dict(LANDING_PAGES) else "/")
    if not referral_cookie_code(request):
        response.set_signed_cookie(
            REFERRAL_COOKIE,
            link.code,
            salt=REFERRAL_COOKIE_SALT,
            max_age=settings.REFERRAL_COOKIE_DAYS * 86400,
            httponly=True,
            samesite="Lax",
            secure=request.is_secure(),
        )
    _set_device_cookie(request, response)
    return response


# --- onboarding in the portal ----------------------------------------------------------------


@portal_view
def partner_apply_view(request: AuthedHttpRequest) -> HttpResponse:
    partner: Partner | None = getattr(request.user, "partner", None)
    can_apply = partner is None or partner.status == Partner.Status.REJECTED
    form = PartnerApplyForm(request.POST or None)
    if request.method == "POST" and can_apply and form.is_valid():
        partner_apply(
            user=request.user,
            name=form.cleaned_data["name"],
            website=form.cleaned_data["website"],
            promotion=form.cleaned_data["promotion"],
            ip=client_ip(request),
            device=_device_id(request),
        )
        messages.success(request, "Thank you: your application is with our partners team.")
        response = redirect("partners:apply")
        _set_device_cookie(request, response)
        return response
    return render(
        request, "partners/apply.html", {"form": form, "partner": partner, "can_apply": can_apply}
    )


# --- the partner dashboard -------------------------------------------------------------------


@partner_view
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    partner = request.user.partner
    period = "week" if request.GET.get("period") == "week" else "day"
    links = [
        {"link": link, "url": _link_url(request, link), "qr": qr_svg(_link_url(request, link))}
        for link in selectors.referral_links(partner=partner)[:5]
    ]
    return render(
        request,
        "partners/dashboard.html",
        {
            "partner": partner,
            "stats": selectors.partner_stats(partner=partner),
            "chart": selectors.partner_volume_chart(partner=partner, period=period),
            "period": period,
            "tree": selectors.partner_tree(partner=partner),
            "top_symbols": selectors.partner_top_symbols(partner=partner),
            "links": links,
            "ancestors": selectors.partner_ancestors(partner=partner),
            # What they earned (partners.commissions reads the lines; the dashboard shows them).
            "commission_chart": commission_selectors.commission_chart(partner=partner),
            "ib_wallets": commission_selectors.ib_wallets(partner=partner),
            "recent_lines": commission_selectors.recent_lines(partner=partner, limit=8),
        },
    )


@partner_view
def partner_clients(request: AuthedHttpRequest) -> HttpResponse:
    partner = request.user.partner
    scope = request.GET.get("scope", "all")
    if scope not in ("all", "direct", "subtree"):
        scope = "all"
    rows = selectors.partner_client_rows(partner=partner, scope=scope)
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    template = "partners/clients.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(
        request,
        template,
        {
            "partner": partner,
            "page": page,
            "scope": scope,
            "scopes": [("all", "All"), ("direct", "Mine"), ("subtree", "Sub-IBs'")],
        },
    )


@partner_view
def partner_client_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    partner = request.user.partner
    row = selectors.partner_client_get(partner=partner, pk=pk)
    return render(request, "partners/client_detail.html", {"partner": partner, "row": row})


@partner_view
def subpartner_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    partner = request.user.partner
    sub = selectors.subpartner_get_for_partner(partner=partner, pk=pk)
    above = list(reversed(selectors.partner_ancestors(partner=sub)))  # master first
    between = above[[p.pk for p in above].index(partner.pk) + 1 :]
    return render(
        request,
        "partners/subpartner_detail.html",
        {"partner": partner, "sub": sub, "between": between,
         "tree": selectors.partner_tree(partner=sub)},
    )  # fmt: skip


@partner_view
def referral_link_list(request: AuthedHttpRequest) -> HttpResponse:
    partner = request.user.partner
    form = ReferralLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        link = referral_link_create(
            partner=partner,
            campaign=form.cleaned_data["campaign"],
            landing_path=form.cleaned_data["landing_path"],
        )
        messages.success(request, f"New link {link.code} is ready to share.")
        return redirect("partners:link-detail", pk=link.pk)
    links = [
        {"link": link, "url": _link_url(request, link)}
        for link in selectors.referral_links(partner=partner)
    ]
    return render(
        request,
        "partners/links.html",
        {
            "partner": partner,
            "links": links,
            "form": form,
            "cookie_days": settings.REFERRAL_COOKIE_DAYS,
        },
    )


@partner_view
def referral_link_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    partner = request.user.partner
    link = selectors.referral_link_get_for_partner(partner=partner, pk=pk)
    url = _link_url(request, link)
    return render(
        request,
        "partners/link_detail.html",
        {"partner": partner, "link": link, "url": url, "qr": qr_svg(url)},
    )


# --- back-office -----------------------------------------------------------------------------


@backoffice_view("view_partners")
def backoffice_partner_list(request: AuthedHttpRequest) -> HttpResponse:
    form = PartnerFilterForm(request.GET or None)
    search, status = "", ""
    if form.is_valid():
        search, status = form.cleaned_data["q"].strip(), form.cleaned_data["status"]
    partners = selectors.partner_list_for_backoffice(search=search, status=status)
    page = Paginator(partners, 25).get_page(request.GET.get("page"))
    template = "partners/backoffice_list.html"
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(
        request,
        template,
        {"page": page, "search": search, "status": status, "statuses": Partner.Status.choices},
    )


def _partner_for_staff(pk: int) -> Partner:
    return get_object_or_404(Partner.objects.select_related("user", "parent", "decided_by"), pk=pk)


@backoffice_view("view_partners")
def backoffice_partner_detail(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    partner = _partner_for_staff(pk)
    can_change = request.user.has_perm("brokerage.change_partners")
    return render(
        request,
        "partners/backoffice_detail.html",
        {
            "partner": partner,
            "can_change": can_change,
            "ancestors": list(reversed(selectors.partner_ancestors(partner=partner))),
            "tree": selectors.partner_tree(partner=partner),
            "level": selectors.partner_level(partner=partner),
            "clients": selectors.partner_clients_for_staff(partner=partner)[:100],
            "links": selectors.referral_links(partner=partner),
            "flags": partner.self_referral_flags.select_related("client__user"),
            "decision_form": PartnerDecisionForm(partner=partner) if can_change else None,
            "move_form": PartnerMoveForm(partner=partner, initial={"parent": partner.parent})
            if can_change
            else None,
            "plan_assignments": commission_selectors.plan_assignments(partner=partner),
            "plan_form": PlanAssignForm(initial={"valid_from": timezone.now()})
            if can_change
            else None,
        },
    )


@backoffice_view("change_partners")
def backoffice_partner_decide(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    partner = _partner_for_staff(pk)
    form = PartnerDecisionForm(request.POST or None, partner=partner)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == "approve":
                partner = partner_approve(
                    partner=partner, actor=request.user, parent=form.cleaned_data["parent"]
                )
                # partners.commissions assigns the chosen commission plan here.
                messages.success(request, f"{partner} is approved.")
            else:
                partner = partner_reject(
                    partner=partner, actor=request.user, reason=form.cleaned_data["reason"]
                )
                messages.success(request, f"{partner}'s application is rejected.")
            return redirect("partners:backoffice-detail", pk=partner.pk)
        except PartnerError as error:
            form.add_error(None, error.message)
    return render(request, "partners/backoffice_decide.html", {"partner": partner, "form": form})


@backoffice_view("change_partners")
def backoffice_partner_move(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    partner = _partner_for_staff(pk)
    form = PartnerMoveForm(
        request.POST or None, partner=partner, initial={"parent": partner.parent}
    )
    if request.method == "POST" and form.is_valid():
        try:
            partner_move(partner=partner, new_parent=form.cleaned_data["parent"])
            messages.success(request, f"{partner} moved, with everyone under them.")
            return redirect("partners:backoffice-detail", pk=partner.pk)
        except PartnerError as error:
            form.add_error("parent", error.message)
    return render(request, "partners/backoffice_move.html", {"partner": partner, "form": form})


@backoffice_view("change_partners")
def backoffice_client_attribution(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    from partners.services import attribution_reassign

    client = selectors.client_for_staff(pk=pk)
    history = selectors.client_attributions(client=client)
    current = history.filter(valid_to__isnull=True).first()
    form = ReassignForm(request.POST or None, initial={"partner": current and current.partner})
    if request.method == "POST" and form.is_valid():
        effective = form.cleaned_data["effective_from"]
        if effective is not None and effective.tzinfo is None:
            effective = effective.replace(tzinfo=UTC)
        try:
            attribution_reassign(
                client=client,
                partner=form.cleaned_data["partner"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                effective_from=effective,
                backdate=form.cleaned_data["backdate"],
            )
            messages.success(request, f"{client.name}'s IB is changed.")
            return redirect("partners:backoffice-client-attribution", pk=client.pk)
        except PartnerError as error:
            form.add_error(None, error.message)
    return render(
        request,
        "partners/backoffice_attribution.html",
        {"client": client, "history": history, "current": current, "form": form},
    )


@backoffice_view("view_partners")
def backoffice_attribution_history(request: AuthedHttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()[:100]
    page = Paginator(selectors.attribution_history(search=search), 50).get_page(
        request.GET.get("page")
    )
    found = selectors.client_by_email(email=search) if "@" in search else None
    return render(
        request,
        "partners/backoffice_attributions.html",
        {"page": page, "search": search, "found": found},
    )
