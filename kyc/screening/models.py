"""Watch lists in one FtM-shaped model, and the screenings of clients against them.

A list is loaded as a new ListVersion; entities are upserted by (source, source_id) and
the version is switched active in the same transaction. An entity missing from the new
version is marked delisted (never deleted), so old screening hits keep pointing at it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class ListSource(models.TextChoices):
    OFAC = "ofac", "OFAC SDN"
    UN = "un", "UN Security Council"
    EU = "eu", "EU Financial Sanctions"


class ListVersion(models.Model):
    """One load of one list. Exactly one version per source is active."""

    source = models.CharField(max_length=8, choices=ListSource)
    format = models.CharField(max_length=16)
    loaded_at = models.DateTimeField(auto_now_add=True)
    # {file name: sha256 hex} of the raw files this version was parsed from.
    raw_hashes = models.JSONField(default=dict)
    entity_count = models.PositiveIntegerField(default=0)
    added_count = models.PositiveIntegerField(default=0)
    changed_count = models.PositiveIntegerField(default=0)
    delisted_count = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=False)
    # What the server said, for the next conditional GET.
    etag = models.CharField(max_length=256, blank=True)
    last_modified = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-loaded_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["source"], condition=Q(is_active=True), name="one_active_version_per_source"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source} #{self.pk} ({self.entity_count} entities)"


class WatchlistEntity(models.Model):
    """A listed person, organisation, vessel or aircraft, normalised to FtM's shape.

    names: [{"name": str, "weak": bool}]; birth_dates: partial ISO dates ("1970",
    "1970-05", "1970-05-12"); countries: ISO-2; identifiers: [{"type": str, "number": str}].
    """

    class Schema(models.TextChoices):
        PERSON = "Person", "Person"
        ORGANIZATION = "Organization", "Organisation"
        VESSEL = "Vessel", "Vessel"
        AIRCRAFT = "Airplane", "Aircraft"
        LEGAL_ENTITY = "LegalEntity", "Legal entity"

    source = models.CharField(max_length=8, choices=ListSource)
    source_id = models.CharField(max_length=64)
    schema = models.CharField(max_length=16, choices=Schema)
    caption = models.CharField(max_length=512)
    names = models.JSONField(default=list)
    birth_dates = models.JSONField(default=list)
    countries = models.JSONField(default=list)
    identifiers = models.JSONField(default=list)
    topics = models.JSONField(default=list)
    programs = models.JSONField(default=list)
    content_hash = models.CharField(max_length=64)
    first_version = models.ForeignKey(
        ListVersion, on_delete=models.PROTECT, related_name="+", null=True
    )
    # The last version whose content differed from the one before (added or changed).
    changed_in = models.ForeignKey(
        ListVersion, on_delete=models.PROTECT, related_name="changed_entities", null=True
    )
    last_seen_version = models.ForeignKey(
        ListVersion, on_delete=models.PROTECT, related_name="+", null=True
    )
    listed = models.BooleanField(default=True)
    delisted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], name="entity_per_source_id")
        ]
        indexes = [models.Index(fields=["source", "listed"])]

    def __str__(self) -> str:
        return f"{self.caption} ({self.source}:{self.source_id})"

    @property
    def is_pep(self) -> bool:
        return "role.pep" in self.topics


class Decision(models.TextChoices):
    CLEAR = "clear", "Clear"
    ALERT = "alert", "Alert"
    STRONG = "strong", "Strong hit"


class Screening(models.Model):
    """One screening of one client against the active list versions."""

    class Trigger(models.TextChoices):
        ONBOARDING = "onboarding", "Onboarding"
        MANUAL = "manual", "Manual"
        PROFILE_CHANGE = "profile_change", "Profile changed"
        LIST_UPDATE = "list_update", "List updated"
        NIGHTLY = "nightly", "Nightly re-screen"

    client = models.ForeignKey("clients.Client", on_delete=models.PROTECT, related_name="+")
    trigger = models.CharField(max_length=16, choices=Trigger)
    query_name = models.CharField(max_length=512)
    query_dob = models.CharField(max_length=10, blank=True)
    query_country = models.CharField(max_length=2, blank=True)
    decision = models.CharField(max_length=8, choices=Decision)
    top_score = models.FloatField(default=0.0)
    is_pep = models.BooleanField(default=False)
    algorithm = models.CharField(max_length=64)
    algorithm_version = models.CharField(max_length=16)
    list_versions = models.ManyToManyField(ListVersion, related_name="screenings")
    # A list-update re-screen looks only at the entities that changed in these versions.
    scope = models.CharField(max_length=16, default="full")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["client", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.query_name}: {self.decision} ({self.top_score:.2f})"


class ScreeningHit(models.Model):
    """A candidate that scored at or above the log cut-off, with why."""

    screening = models.ForeignKey(Screening, on_delete=models.CASCADE, related_name="hits")
    entity = models.ForeignKey(WatchlistEntity, on_delete=models.PROTECT, related_name="hits")
    score = models.FloatField()
    decision = models.CharField(max_length=8, choices=Decision)
    matched_name = models.CharField(max_length=512)
    # Snapshot: what the entity looked like when it was matched.
    entity_caption = models.CharField(max_length=512)
    explanation = models.TextField()

    class Meta:
        ordering = ["-score"]

    def __str__(self) -> str:
        return f"{self.entity_caption}: {self.score:.2f}"
