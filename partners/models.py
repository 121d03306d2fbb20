from __future__ import annotations

import pghistory
import pgtrigger
from django.conf import settings
from django.db import models

# Pages of the site a referral link may land on (path, label). An allow-list, so a link can
# never become an open redirect.
LANDING_PAGES = [
    ("/", "Home page"),
    ("/accounts/signup/", "Sign-up form"),
    ("/accounts/login/", "Log-in page"),
]


@pghistory.track()
class Partner(models.Model):
    """An introducing broker (IB) or affiliate. The IB tree, referral links and commission
    plans build on this (see the partners issue)."""

    class Status(models.TextChoices):
        APPLIED = "applied", "Applied"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="partner"
    )
    name = models.CharField(max_length=200, help_text="Trading name shown to clients")
    status = models.CharField(max_length=16, choices=Status, default=Status.APPLIED)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        help_text="The master IB this IB works under, if any",
    )
    website = models.URLField(blank=True)
    promotion = models.TextField(blank=True, help_text="How the applicant will promote the broker")
    # Where the application came from: compared with clients' sign-ups to flag self-referral.
    applied_ip = models.GenericIPAddressField(null=True, blank=True)
    applied_device = models.CharField(max_length=64, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decision_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_approved(self) -> bool:
        return self.status == self.Status.APPROVED


class PartnerPath(models.Model):
    """The IB tree as a closure table: one row per (ancestor, descendant) pair, including each
    IB with itself at depth 0. "All ancestors" and "all descendants" are one indexed query, and
    the commission run joins it set-based. Written only by partners.services (tree moves)."""

    ancestor = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="descendant_paths")
    descendant = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="ancestor_paths")
    depth = models.PositiveSmallIntegerField(help_text="0 = itself, 1 = direct parent, ...")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["descendant", "ancestor"], name="partner_path_once"),
            models.UniqueConstraint(
                fields=["descendant", "depth"], name="partner_path_one_per_depth"
            ),
            # Depth 0 is exactly the self row.
            models.CheckConstraint(
                condition=(models.Q(ancestor=models.F("descendant")) & models.Q(depth=0))
                | (~models.Q(ancestor=models.F("descendant")) & models.Q(depth__gt=0)),
                name="partner_path_self_at_zero",
            ),
        ]
        indexes = [models.Index(fields=["ancestor", "depth"])]
        triggers = [
            # The last line of defence against a cycle, whatever code writes the table: a
            # path A->B may not exist while B->A does.
            pgtrigger.Trigger(
                name="partner_path_no_cycle",
                when=pgtrigger.Before,
                operation=pgtrigger.Insert | pgtrigger.Update,
                func="""
                IF NEW.depth > 0 AND EXISTS (
                    SELECT 1 FROM partners_partnerpath
                    WHERE ancestor_id = NEW.descendant_id AND descendant_id = NEW.ancestor_id
                ) THEN
                    RAISE EXCEPTION 'partner tree cycle: % and % would be each other''s ancestor',
                        NEW.ancestor_id, NEW.descendant_id USING ERRCODE = 'check_violation';
                END IF;
                RETURN NEW;
                """,
            )
        ]

    def __str__(self) -> str:
        return f"{self.ancestor_id} -> {self.descendant_id} ({self.depth})"


@pghistory.track()
class Attribution(models.Model):
    """Which IB a client belongs to, from when. A client has at most one current attribution
    (valid_to is null); a reassignment closes it and opens the next, effective from a date, so
    commissions on earlier deals keep going to the earlier IB unless staff say otherwise."""

    class Source(models.TextChoices):
        LINK = "link", "Referral link"
        CODE = "code", "Code typed at sign-up"
        STAFF = "staff", "Assigned by staff"

    client = models.ForeignKey(
        "clients.Client", on_delete=models.PROTECT, related_name="attributions"
    )
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="attributions")
    source = models.CharField(max_length=8, choices=Source)
    valid_from = models.DateTimeField()
    valid_to = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    link = models.ForeignKey(
        "ReferralLink", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["client", "-valid_from"]
        indexes = [models.Index(fields=["partner", "valid_from"])]
        constraints = [
            models.UniqueConstraint(
                fields=["client"],
                condition=models.Q(valid_to__isnull=True),
                name="attribution_one_current_per_client",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_to__isnull=True)
                | models.Q(valid_to__gt=models.F("valid_from")),
                name="attribution_range_forward",
            ),
        ]

    def __str__(self) -> str:
        return f"client {self.client_id} -> IB {self.partner_id} from {self.valid_from:%Y-%m-%d}"


class ReferralLink(models.Model):
    """A partner's referral link; its code is also what a visitor types at sign-up."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="links")
    code = models.CharField(max_length=16, unique=True)
    campaign = models.SlugField(max_length=50, blank=True)
    landing_path = models.CharField(max_length=100, choices=LANDING_PAGES, default="/")
    clicks = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["partner", "created_at"]

    def __str__(self) -> str:
        return self.code


class SignupTrace(models.Model):
    """Where a client signed up from (address and device cookie): evidence for self-referral
    checks, kept for every sign-up whether referred or not."""

    client = models.OneToOneField(
        "clients.Client", on_delete=models.CASCADE, related_name="signup_trace"
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    device = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["ip"]), models.Index(fields=["device"])]

    def __str__(self) -> str:
        return f"sign-up of client {self.client_id} from {self.ip}"


class SelfReferralFlag(models.Model):
    """A sign that a partner referred themselves (their own account, or a client sharing
    their address, device or e-mail domain). Shown to staff; it decides nothing by itself."""

    class Reason(models.TextChoices):
        OWN_ACCOUNT = "own_account", "The IB's own client account"
        SAME_IP = "same_ip", "Same sign-up IP address as the IB"
        SAME_DEVICE = "same_device", "Same device as the IB"
        SAME_EMAIL_DOMAIN = "same_email_domain", "Same e-mail domain as the IB"

    client = models.ForeignKey(
        "clients.Client", on_delete=models.CASCADE, related_name="self_referral_flags"
    )
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="self_referral_flags"
    )
    reason = models.CharField(max_length=20, choices=Reason)
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "partner", "reason"], name="self_referral_flag_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()}: client {self.client_id}, IB {self.partner_id}"
