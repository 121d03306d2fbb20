"""Every non-trivial read of the partners app, scoped to the acting IB where an IB acts: an
object outside their own tree is a 404, whether or not it exists."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from clients.models import Client
from partners.models import Attribution, Partner, PartnerPath, ReferralLink, SelfReferralFlag

ACTIVE_DAYS = 30


def partner_count() -> int:
    return Partner.objects.filter(status=Partner.Status.APPROVED).count()


def partner_list() -> QuerySet[Partner]:
    return Partner.objects.select_related("user")


# --- the tree --------------------------------------------------------------------------------


def partner_ancestors(*, partner: Partner) -> list[Partner]:
    """The partner's parent, grandparent, ... (nearest first): one indexed query."""
    paths = (
        PartnerPath.objects.filter(descendant=partner, depth__gt=0)
        .select_related("ancestor")
        .order_by("depth")
    )
    return [p.ancestor for p in paths]


def partner_descendants(*, partner: Partner) -> QuerySet[Partner]:
    """Every IB under the partner, at any depth (the partner excluded): one indexed query."""
    return Partner.objects.filter(
        ancestor_paths__ancestor=partner, ancestor_paths__depth__gt=0
    ).order_by("name")


@dataclass
class TreeNode:
    partner: Partner
    depth: int
    clients: int = 0
    children: list[TreeNode] = field(default_factory=list)


def partner_tree(*, partner: Partner) -> TreeNode:
    """The partner's subtree with each IB's current client count, built from one query."""
    now = timezone.now()
    current = Attribution.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=now), valid_from__lte=now, partner=OuterRef("pk")
    )
    rows = (
        Partner.objects.filter(ancestor_paths__ancestor=partner)
        .annotate(
            level=Subquery(
                PartnerPath.objects.filter(ancestor=partner, descendant=OuterRef("pk")).values(
                    "depth"
                )[:1]
            ),
            client_count=Coalesce(
                Subquery(
                    current.order_by().values("partner").annotate(n=Count("pk")).values("n")[:1],
                    output_field=IntegerField(),
                ),
                0,
            ),
        )
        .order_by("level", "name")
    )
    nodes: dict[int, TreeNode] = {}
    root = TreeNode(partner=partner, depth=0)
    for row in rows:
        node = root if row.pk == partner.pk else TreeNode(partner=row, depth=row.level)
        node.clients = row.client_count
        nodes[row.pk] = node
        if row.pk != partner.pk and row.parent_id in nodes:
            nodes[row.parent_id].children.append(node)
    return root


def subpartner_get_for_partner(*, partner: Partner, pk: int) -> Partner:
    """A sub-IB anywhere under the partner; anyone else's is a 404."""
    sub = partner_descendants(partner=partner).filter(pk=pk).first()
    if sub is None:
        raise Http404("No such sub-IB")
    return sub


def partner_for_client_at(*, client_id: int, at: datetime) -> Partner | None:
    """The IB a client belonged to at a moment (a deal's time), or None for a direct client."""
    attribution = (
        Attribution.objects.filter(client_id=client_id, valid_from__lte=at)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=at))
        .select_related("partner")
        .first()
    )
    return attribution.partner if attribution else None


def partner_level(*, partner: Partner) -> int:
    return PartnerPath.objects.filter(descendant=partner).count()


# --- links -----------------------------------------------------------------------------------


def referral_links(*, partner: Partner) -> QuerySet[ReferralLink]:
    return ReferralLink.objects.filter(partner=partner).order_by("-created_at")


def referral_link_get_for_partner(*, partner: Partner, pk: int) -> ReferralLink:
    link = ReferralLink.objects.filter(partner=partner, pk=pk).first()
    if link is None:
        raise Http404("No such link")
    return link


def referral_link_by_code(code: str) -> ReferralLink | None:
    code = code.strip().upper()
    if not code:
        return None
    return (
        ReferralLink.objects.select_related("partner")
        .filter(code=code, partner__status=Partner.Status.APPROVED)
        .first()
    )


# --- clients of a partner --------------------------------------------------------------------


def mask_name(name: str) -> str:
    """'Liam Novak' -> 'L*** N***'."""
    return " ".join(f"{part[0]}***" for part in name.split() if part) or "***"


def mask_email(email: str) -> str:
    """'liam.novak@traders.test' -> 'li***@t***.test'."""
    local, _, domain = email.partition("@")
    host, _, tld = domain.rpartition(".")
    return f"{local[:2]}***@{host[:1]}***.{tld}" if host else f"{local[:2]}***@***"


@dataclass(frozen=True)
class ClientRow:
    client_id: int
    name: str
    email: str
    masked: bool
    ib: Partner
    direct: bool
    since: datetime
    source: str


def _current_attributions(*, partner: Partner) -> QuerySet[Attribution]:
    now = timezone.now()
    return Attribution.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=now),
        valid_from__lte=now,
        partner__ancestor_paths__ancestor=partner,
    )


def _row(attribution: Attribution, partner: Partner) -> ClientRow:
    direct = attribution.partner_id == partner.pk
    show = (
        settings.PARTNERS_SHOW_OWN_CLIENT_DETAILS
        if direct
        else settings.PARTNERS_SHOW_SUBTREE_CLIENT_DETAILS
    )
    user = attribution.client.user
    return ClientRow(
        client_id=attribution.client_id,
        name=user.get_full_name() if show else mask_name(user.get_full_name()),
        email=user.email if show else mask_email(user.email),
        masked=not show,
        ib=attribution.partner,
        direct=direct,
        since=attribution.valid_from,
        source=attribution.get_source_display(),
    )


def partner_client_rows(*, partner: Partner, scope: str = "all") -> list[ClientRow]:
    """The partner's clients now (theirs and, with scope 'all', their sub-IBs'), masked as
    the broker's settings say. Search is not offered: it would reveal masked names."""
    attributions = _current_attributions(partner=partner).select_related("client__user", "partner")
    if scope == "direct":
        attributions = attributions.filter(partner=partner)
    elif scope == "subtree":
        attributions = attributions.exclude(partner=partner)
    return [_row(a, partner) for a in attributions.order_by("-valid_from")]


def partner_client_get(*, partner: Partner, pk: int) -> ClientRow:
    attribution = (
        _current_attributions(partner=partner)
        .select_related("client__user", "partner")
        .filter(client_id=pk)
        .first()
    )
    if attribution is None:
        raise Http404("No such client")
    return _row(attribution, partner)


# --- dashboard figures from the deals --------------------------------------------------------
# A deal counts for the IB the client belonged to at the deal's time (as commissions do).
# Volume is every buy and sell deal (opening and closing), in lots.

_DEALS_OF_TREE = """
    FROM clients_deal d
    JOIN clients_tradingaccount ta ON ta.server_id = d.server_id AND ta.login = d.login
    JOIN partners_attribution a ON a.client_id = ta.client_id
         AND d.time >= a.valid_from AND (a.valid_to IS NULL OR d.time < a.valid_to)
    JOIN partners_partnerpath p ON p.descendant_id = a.partner_id AND p.ancestor_id = %(me)s
    WHERE d.action IN (0, 1) AND d.time >= %(since)s AND (%(subtree)s OR p.depth = 0)
"""


@dataclass(frozen=True)
class PartnerStats:
    direct_clients: int
    subtree_clients: int
    active_traders: int
    sub_ibs: int
    lots_30d: Decimal


def partner_stats(*, partner: Partner) -> PartnerStats:
    counts = _current_attributions(partner=partner).aggregate(
        direct=Count("pk", filter=Q(partner=partner)), total=Count("pk")
    )
    since = timezone.now() - timedelta(days=ACTIVE_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(DISTINCT ta.client_id), COALESCE(SUM(d.volume_ext), 0)" + _DEALS_OF_TREE,
            {"me": partner.pk, "since": since, "subtree": True},
        )
        active, volume = cursor.fetchone()
    return PartnerStats(
        direct_clients=counts["direct"],
        subtree_clients=counts["total"] - counts["direct"],
        active_traders=active,
        sub_ibs=PartnerPath.objects.filter(ancestor=partner, depth__gt=0).count(),
        lots_30d=(Decimal(volume) / Decimal(100_000_000)).quantize(Decimal("0.01")),
    )


def partner_volume_chart(*, partner: Partner, period: str = "day") -> dict:
    """Lots per day (last 30 days) or per week (last 26 weeks), for the dashboard's chart;
    the sub-IBs' clients count when settings.PARTNERS_DASHBOARD_SUBTREE_VOLUME is on."""
    trunc, span, step = ("week", 26 * 7, 7) if period == "week" else ("day", 30, 1)
    today = timezone.now().date()
    start = today - timedelta(days=span - 1)
    if trunc == "week":
        start -= timedelta(days=start.weekday())
    since = datetime.combine(start, datetime.min.time(), tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT date_trunc('{trunc}', d.time AT TIME ZONE 'UTC')::date, SUM(d.volume_ext)"
            + _DEALS_OF_TREE
            + " GROUP BY 1",
            {
                "me": partner.pk,
                "since": since,
                "subtree": settings.PARTNERS_DASHBOARD_SUBTREE_VOLUME,
            },
        )
        by_day: dict[date, int] = dict(cursor.fetchall())
    labels, values = [], []
    day = start
    while day <= today:
        labels.append(day.strftime("%d %b") if trunc == "day" else f"wk {day:%d %b}")
        values.append(float(Decimal(by_day.get(day, 0)) / Decimal(100_000_000)))
        day += timedelta(days=step)
    scope = (
        "your and your sub-IBs' clients"
        if settings.PARTNERS_DASHBOARD_SUBTREE_VOLUME
        else ("your clients")
    )
    return {
        "title": f"Lots traded per {trunc} by {scope}",
        "labels": labels,
        "values": values,
        "unit": "lots",
        "rows": [(label, value) for label, value in zip(labels, values, strict=True) if value],
    }


def partner_top_symbols(*, partner: Partner, limit: int = 5) -> list[tuple[str, Decimal]]:
    since = timezone.now() - timedelta(days=ACTIVE_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT d.symbol, SUM(d.volume_ext)"
            + _DEALS_OF_TREE
            + " GROUP BY d.symbol ORDER BY 2 DESC, 1 LIMIT %(limit)s",
            {
                "me": partner.pk,
                "since": since,
                "subtree": settings.PARTNERS_DASHBOARD_SUBTREE_VOLUME,
                "limit": limit,
            },
        )
        return [
            (symbol, (Decimal(v) / Decimal(100_000_000)).quantize(Decimal("0.01")))
            for symbol, v in cursor.fetchall()
        ]


# --- back-office -----------------------------------------------------------------------------


def partner_list_for_backoffice(*, search: str = "", status: str = "") -> QuerySet[Partner]:
    now = timezone.now()
    current = Attribution.objects.filter(
        Q(valid_to__isnull=True) | Q(valid_to__gt=now), valid_from__lte=now, partner=OuterRef("pk")
    )
    partners = Partner.objects.select_related("user", "parent").annotate(
        level=Subquery(
            PartnerPath.objects.filter(descendant=OuterRef("pk"))
            .order_by()
            .values("descendant")
            .annotate(n=Count("pk"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        client_count=Coalesce(
            Subquery(
                current.order_by().values("partner").annotate(n=Count("pk")).values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
        flag_count=Coalesce(
            Subquery(
                SelfReferralFlag.objects.filter(partner=OuterRef("pk"))
                .order_by()
                .values("partner")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            0,
        ),
    )
    if status:
        partners = partners.filter(status=status)
    if search:
        partners = partners.filter(Q(name__icontains=search) | Q(user__email__icontains=search))
    return partners.order_by("name")


def partner_clients_for_staff(*, partner: Partner) -> QuerySet[Attribution]:
    now = timezone.now()
    return (
        Attribution.objects.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gt=now), valid_from__lte=now, partner=partner
        )
        .select_related("client__user")
        .order_by("-valid_from")
    )


def attribution_history(*, search: str = "") -> QuerySet[Attribution]:
    rows = Attribution.objects.select_related("client__user", "partner", "created_by", "link")
    if search:
        rows = rows.filter(
            Q(client__user__email__icontains=search)
            | Q(partner__name__icontains=search)
            | Q(reason__icontains=search)
        )
    return rows.order_by("-created_at", "-pk")


def client_attributions(*, client: Client) -> QuerySet[Attribution]:
    return (
        Attribution.objects.filter(client=client)
        .select_related("partner", "created_by", "link")
        .order_by("-valid_from")
    )


def client_for_staff(*, pk: int) -> Client:
    client = Client.objects.select_related("user").filter(pk=pk).first()
    if client is None:
        raise Http404("No such client")
    return client


def client_by_email(*, email: str) -> Client | None:
    return Client.objects.select_related("user").filter(user__email__iexact=email).first()
