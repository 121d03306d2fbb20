"""Every write of the partners app: the IB tree (closure table), onboarding, referral links,
attribution at sign-up and by staff, self-referral flags."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

import pghistory
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone

from brokerage.models import User
from clients.models import Client
from partners.exceptions import PartnerError
from partners.models import (
    LANDING_PAGES,
    Attribution,
    Partner,
    PartnerPath,
    ReferralLink,
    SelfReferralFlag,
    SignupTrace,
)

REFERRAL_COOKIE = "mm_ref"
REFERRAL_COOKIE_SALT = "partners.referral"
DEVICE_COOKIE = "mm_device"
# Free-mail domains: sharing one says nothing about who is behind an address.
PUBLIC_EMAIL_DOMAINS = frozenset(
    {"gmail.com", "googlemail.com", "yahoo.com", "outlook.com", "hotmail.com", "live.com",
     "icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net",
     "mail.ru", "yandex.ru", "web.de", "qq.com", "163.com"}
)  # fmt: skip
# Without ambiguous characters (0/O, 1/I/L): a code is read aloud and typed by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


# --- the tree --------------------------------------------------------------------------------


def _lock_tree() -> None:
    # Tree writes are rare; serialising them makes the depth and cycle checks race-free.
    with connection.cursor() as cursor:
        cursor.execute("LOCK TABLE partners_partnerpath IN SHARE ROW EXCLUSIVE MODE")


def _paths_insert_self(partner: Partner, parent: Partner | None) -> None:
    """The partner's own row plus its parent's ancestors one level further, in one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO partners_partnerpath (ancestor_id, descendant_id, depth)
            SELECT %(me)s, %(me)s, 0
            UNION ALL
            SELECT ancestor_id, %(me)s, depth + 1 FROM partners_partnerpath
            WHERE descendant_id = %(parent)s
            """,
            {"me": partner.pk, "parent": parent.pk if parent else None},
        )


def _level(partner: Partner) -> int:
    """1 for a master IB, 2 for their sub-IB, ..."""
    return PartnerPath.objects.filter(descendant=partner).count()


def _height(partner: Partner) -> int:
    """Levels below the partner in their own subtree (0 for a leaf)."""
    deepest = (
        PartnerPath.objects.filter(ancestor=partner).order_by("-depth").values("depth").first()
    )
    return deepest["depth"] if deepest else 0


def _check_parent(partner: Partner, parent: Partner) -> None:
    if parent.pk == partner.pk:
        raise PartnerError(f"{partner} can't be their own parent IB.")
    if parent.status != Partner.Status.APPROVED:
        raise PartnerError(f"{parent} is not an approved IB; choose an approved parent.")
    if PartnerPath.objects.filter(ancestor=partner, descendant=parent).exists():
        raise PartnerError(
            f"{parent} is under {partner}; moving {partner} under {parent} would make a cycle."
        )
    levels = _level(parent) + 1 + _height(partner)
    if levels > settings.PARTNERS_MAX_DEPTH:
        raise PartnerError(
            f"The IB tree may be at most {settings.PARTNERS_MAX_DEPTH} levels deep; putting "
            f"{partner} under {parent} would make it {levels}."
        )


@transaction.atomic
def partner_register(
    *,
    user: User,
    name: str,
    approved: bool = False,
    parent: Partner | None = None,
    website: str = "",
    promotion: str = "",
    ip: str | None = None,
    device: str = "",
) -> Partner:
    """Create (or return) the partner profile of a user (idempotent), with its tree paths."""
    existing = Partner.objects.filter(user=user).first()
    if existing is not None:
        return existing
    _lock_tree()
    if parent is not None:
        if parent.status != Partner.Status.APPROVED:
            raise PartnerError(f"{parent} is not an approved IB; choose an approved parent.")
        levels = _level(parent) + 1
        if levels > settings.PARTNERS_MAX_DEPTH:
            raise PartnerError(
                f"The IB tree may be at most {settings.PARTNERS_MAX_DEPTH} levels deep; "
                f"an IB under {parent} would be at level {levels}."
            )
    partner = Partner.objects.create(
        user=user,
        name=name,
        status=Partner.Status.APPROVED if approved else Partner.Status.APPLIED,
        parent=parent,
        website=website,
        promotion=promotion,
        applied_ip=ip,
        applied_device=device,
    )
    _paths_insert_self(partner, parent)
    return partner


@transaction.atomic
def partner_move(*, partner: Partner, new_parent: Partner | None) -> Partner:
    """Put a partner (with their whole subtree) under another IB, or make them a master IB.
    The subtree's paths are rewritten set-based: two statements whatever its size."""
    _lock_tree()
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if new_parent is not None:
        new_parent = Partner.objects.get(pk=new_parent.pk)
        _check_parent(partner, new_parent)
    with connection.cursor() as cursor:
        # Detach: every path from an ancestor outside the subtree to a node inside it.
        cursor.execute(
            """
            DELETE FROM partners_partnerpath p
            USING partners_partnerpath sub, partners_partnerpath sup
            WHERE sub.ancestor_id = %(me)s AND p.descendant_id = sub.descendant_id
              AND sup.descendant_id = %(me)s AND sup.depth > 0
              AND p.ancestor_id = sup.ancestor_id
            """,
            {"me": partner.pk},
        )
        if new_parent is not None:
            # Attach: each ancestor of the new parent (itself included) to each subtree node.
            cursor.execute(
                """
                INSERT INTO partners_partnerpath (ancestor_id, descendant_id, depth)
                SELECT sup.ancestor_id, sub.descendant_id, sup.depth + sub.depth + 1
                FROM partners_partnerpath sup, partners_partnerpath sub
                WHERE sup.descendant_id = %(parent)s AND sub.ancestor_id = %(me)s
                """,
                {"me": partner.pk, "parent": new_parent.pk},
            )
    partner.parent = new_parent
    partner.save(update_fields=["parent"])
    return partner


# --- onboarding ------------------------------------------------------------------------------


@transaction.atomic
def partner_apply(
    *,
    user: User,
    name: str,
    website: str = "",
    promotion: str = "",
    ip: str | None = None,
    device: str = "",
) -> Partner:
    """A client applies to become an IB from the portal. A second application while one is
    open (or after approval) returns the existing profile; a rejected one may apply again."""
    existing = Partner.objects.select_for_update().filter(user=user).first()
    if existing is not None:
        if existing.status != Partner.Status.REJECTED:
            return existing
        existing.name, existing.website, existing.promotion = name, website, promotion
        existing.status = Partner.Status.APPLIED
        existing.applied_ip, existing.applied_device = ip, device
        existing.decided_at, existing.decided_by, existing.decision_reason = None, None, ""
        existing.save()
        return existing
    return partner_register(
        user=user, name=name, website=website, promotion=promotion, ip=ip, device=device
    )


@transaction.atomic
def partner_approve(*, partner: Partner, actor: User, parent: Partner | None = None) -> Partner:
    """Staff approve an application, optionally under a parent IB. (The commission plan is
    assigned by partners.commissions right after this, in the same request.)"""
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.status != Partner.Status.APPLIED:
        raise PartnerError(f"{partner} is {partner.get_status_display().lower()}, not applied.")
    if parent is not None:
        partner_move(partner=partner, new_parent=parent)
        partner.refresh_from_db()
    partner.status = Partner.Status.APPROVED
    partner.decided_at, partner.decided_by, partner.decision_reason = timezone.now(), actor, ""
    partner.save()
    return partner


@transaction.atomic
def partner_reject(*, partner: Partner, actor: User, reason: str) -> Partner:
    partner = Partner.objects.select_for_update().get(pk=partner.pk)
    if partner.status != Partner.Status.APPLIED:
        raise PartnerError(f"{partner} is {partner.get_status_display().lower()}, not applied.")
    if not reason.strip():
        raise PartnerError("Give the applicant a reason for the rejection.")
    partner.status = Partner.Status.REJECTED
    partner.decided_at, partner.decided_by = timezone.now(), actor
    partner.decision_reason = reason.strip()
    partner.save()
    return partner


# --- referral links --------------------------------------------------------------------------


def referral_link_create(
    *, partner: Partner, campaign: str = "", landing_path: str = "/", code: str = ""
) -> ReferralLink:
    if landing_path not in dict(LANDING_PAGES):
        raise PartnerError("Choose a landing page from the list.")
    if code:
        return ReferralLink.objects.get_or_create(
            code=code.upper(),
            defaults={"partner": partner, "campaign": campaign, "landing_path": landing_path},
        )[0]
    for _ in range(10):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
        if not ReferralLink.objects.filter(code=code).exists():
            return ReferralLink.objects.create(
                partner=partner, code=code, campaign=campaign, landing_path=landing_path
            )
    raise PartnerError("Could not find a free code; try again.")  # pragma: no cover


def referral_link_click(*, link: ReferralLink) -> None:
    ReferralLink.objects.filter(pk=link.pk).update(clicks=F("clicks") + 1)


# --- attribution -----------------------------------------------------------------------------


def _link_for_code(code: str) -> ReferralLink | None:
    code = code.strip().upper()
    if not code:
        return None
    return (
        ReferralLink.objects.select_related("partner")
        .filter(code=code, partner__status=Partner.Status.APPROVED)
        .first()
    )


def referral_cookie_code(request: HttpRequest) -> str:
    """The code of the visitor's first touch, if its signed cookie is valid and fresh."""
    value = request.get_signed_cookie(
        REFERRAL_COOKIE,
        default="",
        salt=REFERRAL_COOKIE_SALT,
        max_age=settings.REFERRAL_COOKIE_DAYS * 86400,
    )
    return str(value or "")


def _email_domain(email: str) -> str:
    return email.rpartition("@")[2].lower()


def self_referral_check(*, client: Client, partner: Partner) -> list[SelfReferralFlag]:
    """Record every sign that the partner referred themselves; returns the flags found."""
    found: list[tuple[str, str]] = []
    ib_user = partner.user
    if client.user_id == ib_user.pk:
        found.append((SelfReferralFlag.Reason.OWN_ACCOUNT, ib_user.email))
        return _flags(client, partner, found)  # the rest would compare them with themselves
    trace = SignupTrace.objects.filter(client=client).first()
    ib_trace = SignupTrace.objects.filter(client__user=ib_user).first()
    ib_ips = {ip for ip in (partner.applied_ip, ib_trace and ib_trace.ip) if ip}
    ib_devices = {d for d in (partner.applied_device, ib_trace and ib_trace.device) if d}
    if trace and trace.ip and trace.ip in ib_ips:
        found.append((SelfReferralFlag.Reason.SAME_IP, trace.ip))
    if trace and trace.device and trace.device in ib_devices:
        found.append((SelfReferralFlag.Reason.SAME_DEVICE, trace.device[:12] + "…"))
    domain = _email_domain(client.user.email)
    if domain and domain not in PUBLIC_EMAIL_DOMAINS and domain == _email_domain(ib_user.email):
        found.append((SelfReferralFlag.Reason.SAME_EMAIL_DOMAIN, domain))
    return _flags(client, partner, found)


def _flags(
    client: Client, partner: Partner, found: list[tuple[str, str]]
) -> list[SelfReferralFlag]:
    flags = []
    for reason, detail in found:
        flag, _ = SelfReferralFlag.objects.get_or_create(
            client=client, partner=partner, reason=reason, defaults={"detail": detail}
        )
        flags.append(flag)
    return flags


@transaction.atomic
def attribution_bind_at_signup(
    *, client: Client, request: HttpRequest, code: str = ""
) -> Attribution | None:
    """Bind a new client to the IB of the code they typed, or else of their first-touch
    cookie. A client already attributed (now or ever) is never claimed again. Records where
    the sign-up came from and flags self-referral."""
    from brokerage.audit import client_ip

    SignupTrace.objects.get_or_create(
        client=client,
        defaults={"ip": client_ip(request), "device": request.COOKIES.get(DEVICE_COOKIE, "")[:64]},
    )
    typed = _link_for_code(code)
    link, source = (typed, Attribution.Source.CODE) if typed else (None, "")
    if link is None:
        link, source = _link_for_code(referral_cookie_code(request)), Attribution.Source.LINK
    if link is None:
        return None
    # The client row is the lock: two sign-up requests can't both bind it.
    Client.objects.select_for_update().get(pk=client.pk)
    if Attribution.objects.filter(client=client).exists():
        return None
    attribution = Attribution.objects.create(
        client=client,
        partner=link.partner,
        source=source,
        link=link,
        valid_from=timezone.now(),
    )
    self_referral_check(client=client, partner=link.partner)
    return attribution


@transaction.atomic
def attribution_reassign(
    *,
    client: Client,
    partner: Partner | None,
    actor: User,
    reason: str,
    effective_from: datetime | None = None,
    backdate: bool = False,
) -> Attribution | None:
    """Staff move a client to another IB (or to none) from a date: the current attribution
    closes at that date and the next one opens there. Never retroactive unless `backdate`:
    deals before the date keep their IB. Returns the new attribution (None when detached)."""
    if not reason.strip():
        raise PartnerError("Say why the client changes IB: the reason is kept in the audit trail.")
    now = timezone.now()
    when = effective_from or now
    # A minute of slack: "now" typed into a form is already a few seconds old.
    if when < now - timedelta(minutes=1) and not backdate:
        raise PartnerError(
            "The effective date is in the past. Tick “backdate” to move the client's earlier "
            "deals to the new IB as well, or choose a date from now on."
        )
    if partner is not None and partner.status != Partner.Status.APPROVED:
        raise PartnerError(f"{partner} is not an approved IB.")
    with pghistory.context(reason=reason.strip(), backdate=backdate):
        return _reassign(client=client, partner=partner, actor=actor, reason=reason, when=when)


def _reassign(
    *, client: Client, partner: Partner | None, actor: User, reason: str, when: datetime
) -> Attribution | None:
    Client.objects.select_for_update().get(pk=client.pk)
    current = Attribution.objects.filter(client=client, valid_to__isnull=True).first()
    if current is not None:
        if current.partner_id == (partner.pk if partner else None):
            raise PartnerError(f"The client already belongs to {partner}.")
        if when <= current.valid_from:
            raise PartnerError(
                f"The effective date must be after the current attribution began "
                f"({current.valid_from:%Y-%m-%d %H:%M} UTC)."
            )
        current.valid_to = when
        current.save(update_fields=["valid_to"])
    elif partner is None:
        raise PartnerError("The client has no IB to detach from.")
    else:
        last = Attribution.objects.filter(client=client).order_by("-valid_to").first()
        if last is not None and last.valid_to and when < last.valid_to:
            raise PartnerError(
                f"The effective date must not be before the previous attribution ended "
                f"({last.valid_to:%Y-%m-%d %H:%M} UTC)."
            )
    if partner is None:
        return None
    attribution = Attribution.objects.create(
        client=client,
        partner=partner,
        source=Attribution.Source.STAFF,
        valid_from=when,
        reason=reason.strip(),
        created_by=actor,
    )
    self_referral_check(client=client, partner=partner)
    return attribution
