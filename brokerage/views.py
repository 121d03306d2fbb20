from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from brokerage.forms import AuditFilterForm, StaffInviteForm, StaffRolesForm
from brokerage.http import AuthedHttpRequest
from brokerage.models import User
from brokerage.permissions import backoffice_view
from brokerage.roles import ROLE_LABELS, user_roles
from brokerage.selectors import (
    audit_describe,
    audit_event_list,
    dashboard_stats,
    health_check,
    staff_list,
)
from brokerage.services import (
    StaffError,
    staff_invite,
    staff_set_active,
    staff_set_roles,
    user_role_names,
)


def home(request: HttpRequest) -> HttpResponse:
    """Send each kind of user to their own surface; show visitors the front page."""
    user = request.user
    if user.is_authenticated:
        if user.is_staff:
            return redirect("brokerage:dashboard")
        partner = getattr(user, "partner", None)
        if partner is not None and partner.is_approved:
            return redirect("partners:dashboard")
        if hasattr(user, "client"):
            return redirect("clients:portal-home")
    return render(request, "landing.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    health = health_check()
    body: dict[str, object] = {
        "status": "ok" if health.ok else "fail",
        "database": "ok" if health.database else "fail",
        "redis": "ok" if health.redis else "fail",
        "worker": "ok" if health.worker else "fail",
        "worker_heartbeat_age_seconds": (
            round(health.worker_age_seconds, 1) if health.worker_age_seconds is not None else None
        ),
        "queues": {
            queue: (round(age, 1) if age is not None else None)
            for queue, age in health.queue_ages.items()
        },
    }
    if health.errors:
        body["errors"] = health.errors
    return JsonResponse(body, status=200 if health.ok else 503)


@backoffice_view("view_dashboard")
def dashboard(request: AuthedHttpRequest) -> HttpResponse:
    stats = dashboard_stats(user=request.user)
    health = health_check()
    chart = {
        "title": (
            "Your new clients per day (last 30 days)"
            if stats.own_clients_only
            else "New clients per day (last 30 days)"
        ),
        "labels": [day for day, _ in stats.signups_by_day],
        "values": [count for _, count in stats.signups_by_day],
        "unit": "clients",
    }
    return render(
        request,
        "brokerage/dashboard.html",
        {"stats": stats, "health": health, "chart": chart, "roles": user_roles(request.user)},
    )


@backoffice_view("view_staff")
def staff(request: AuthedHttpRequest) -> HttpResponse:
    rows = [
        {
            "user": member,
            "roles": [ROLE_LABELS.get(g.name, g.name) for g in member.groups.all()],
            "mfa": any(a.type == "totp" for a in member.authenticator_set.all()),  # type: ignore[attr-defined]
        }
        for member in staff_list()
    ]
    return render(request, "brokerage/staff.html", {"rows": rows})


@backoffice_view("change_staff")
def staff_invite_view(request: AuthedHttpRequest) -> HttpResponse:
    form = StaffInviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            member = staff_invite(
                email=form.cleaned_data["email"],
                first_name=form.cleaned_data["first_name"],
                last_name=form.cleaned_data["last_name"],
                roles=form.cleaned_data["roles"],
                actor=request.user,
                request=request,
            )
        except StaffError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                f"{member.email} was invited. They set a password from the e-mail we sent, "
                "then set up two-factor authentication.",
            )
            return redirect("brokerage:staff")
    return render(request, "brokerage/staff_form.html", {"form": form, "member": None})


@backoffice_view("change_staff")
def staff_roles_view(request: AuthedHttpRequest, pk: int) -> HttpResponse:
    member = get_object_or_404(User, pk=pk, is_staff=True)
    form = StaffRolesForm(request.POST or None, initial={"roles": sorted(user_role_names(member))})
    if request.method == "POST" and request.POST.get("action") in ("deactivate", "reactivate"):
        form = StaffRolesForm(initial={"roles": sorted(user_role_names(member))})
        active = request.POST["action"] == "reactivate"
        try:
            staff_set_active(user=member, active=active, actor=request.user)
        except StaffError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                f"{member.email} can log in again."
                if active
                else f"{member.email} is deactivated and can no longer log in.",
            )
            return redirect("brokerage:staff")
    elif request.method == "POST" and form.is_valid():
        try:
            staff_set_roles(user=member, roles=form.cleaned_data["roles"], actor=request.user)
        except StaffError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"Roles of {member.email} updated.")
            return redirect("brokerage:staff")
    return render(request, "brokerage/staff_form.html", {"form": form, "member": member})


@backoffice_view("view_audit")
@vary_on_headers("HX-Request")
def audit(request: AuthedHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    events = audit_event_list(
        model=filters.get("model", ""),
        object_id=filters.get("object_id", ""),
        user=filters.get("user", ""),
    )
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    audit_describe(page)
    template = "brokerage/audit.html"
    # A history restore wants the whole page, not the fragment (htmx sends HX-Request then).
    if request.htmx and not request.htmx.history_restore_request:
        template += "#results"
    return render(
        request,
        template,
        {"form": form, "page": page},
    )


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    reason = str(exception) if exception and str(exception) else ""
    return render(request, "errors/403.html", {"reason": reason}, status=403)


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "errors/404.html", status=404)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "errors/500.html", status=500)
