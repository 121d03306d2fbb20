from __future__ import annotations

import json
from unittest import mock

import httpx
import pytest
from django.core.management import CommandError, call_command

from kyc.screening.download import watchlist_download
from kyc.screening.exceptions import LoadRefused
from kyc.screening.models import ListVersion, Screening, WatchlistEntity
from kyc.screening.selectors import latest_screening
from kyc.screening.services import rescreen_all, rescreen_version, screen_client, watchlist_load
from kyc.screening.tests.conftest import FIXTURES
from tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db


def client_named(first: str, last: str, country: str = "DE"):
    return ClientFactory(user=UserFactory(first_name=first, last_name=last), country=country)


def test_screen_client_stores_the_result_and_tells_the_case(lists):
    client = client_named("Dmitriy Yurevich", "Khoroshev", country="RU")
    with mock.patch("kyc.screening.services.hooks.screening_completed") as hook:
        screening = screen_client(client=client, trigger=Screening.Trigger.ONBOARDING)
    hook.assert_called_once_with(screening=screening)
    screening.refresh_from_db()
    assert screening.decision == "strong"
    assert (screening.query_name, screening.query_country, screening.query_dob) == (
        "Dmitriy Yurevich Khoroshev",
        "RU",
        "",
    )
    assert screening.algorithm == "align-rapidfuzz" and screening.algorithm_version
    assert set(screening.list_versions.all()) == set(lists.values())
    hit = screening.hits.first()
    assert hit.entity.source_id == "48603"
    assert hit.entity_caption == "Dmitry Yuryevich KHOROSHEV"
    assert "khoroshev~khoroshev" in hit.explanation
    assert latest_screening(client=client) == screening


def test_a_missing_middle_name_alerts(lists):
    client = client_named("Dmitriy", "Khoroshev", country="RU")
    screening = screen_client(client=client, trigger=Screening.Trigger.ONBOARDING)
    assert screening.decision == "alert"
    assert screening.top_score >= 0.7


def test_a_clear_client_is_stored_clear(lists):
    client = client_named("Greta", "Lindqvist")
    screening = screen_client(client=client, trigger=Screening.Trigger.MANUAL)
    assert screening.decision == "clear"
    assert screening.hits.count() == 0


def test_latest_screening_is_none_before_any(db):
    assert latest_screening(client=ClientFactory()) is None


def test_rescreen_version_looks_only_at_added_or_changed_entities(lists, tmp_path):
    alerted = client_named("Alena", "Kovalchuk")
    quiet = client_named("Greta", "Lindqvist")
    # A new EU version that changes nothing: nobody is re-screened.
    same = watchlist_load(fmt="eu-xml", paths=[FIXTURES / "eu_fsf.xml"])
    assert rescreen_version(version=same) == 0
    # A version that adds Greta: only she alerts, and only against the new entity.
    text = (
        (FIXTURES / "eu_fsf.xml")
        .read_text()
        .replace(
            "</export>",
            '<sanctionEntity euReferenceNumber="EU.9904.04" logicalId="990104"><subjectType code="person"/>'
            '<nameAlias wholeName="Greta Lindqvist" strong="true"/></sanctionEntity></export>',
        )
    )
    changed = tmp_path / "eu.xml"
    changed.write_text(text)
    version = watchlist_load(fmt="eu-xml", paths=[changed])
    assert version.added_count == 1
    assert rescreen_version(version=version) == 1
    screening = Screening.objects.get(client=quiet)
    assert (screening.trigger, screening.scope, screening.decision) == (
        "list_update",
        "delta",
        "strong",
    )
    assert [h.entity.source_id for h in screening.hits.all()] == ["EU.9904.04"]
    assert not Screening.objects.filter(client=alerted).exists()


def test_rescreen_all_screens_every_open_client(lists):
    client_named("Alena", "Kovalchuk")
    client_named("Greta", "Lindqvist")
    assert rescreen_all() == 2
    assert set(Screening.objects.values_list("decision", flat=True)) == {"strong", "clear"}


def test_delisted_entities_are_no_longer_matched(lists, tmp_path):
    client = client_named("Alena", "Kovalchuk")
    assert screen_client(client=client, trigger="manual").decision == "strong"
    text = (FIXTURES / "eu_fsf.xml").read_text()
    start = text.index(
        '<sanctionEntity designationDetails="" unitedNationId="" euReferenceNumber="EU.9902.02"'
    )
    end = text.index("</sanctionEntity>", start) + len("</sanctionEntity>")
    smaller = tmp_path / "eu.xml"
    smaller.write_text(text[:start] + text[end:])
    watchlist_load(fmt="eu-xml", paths=[smaller], max_drop=0.5)
    assert screen_client(client=client, trigger="manual").decision == "clear"
    first = Screening.objects.filter(client=client).order_by("pk").first()
    assert first.hits.get().entity.listed is False  # history intact


def test_screen_command_prints_candidates_and_decision(lists, capsys):
    call_command("screen", "Nasrallah Hasan", "--dob", "1960", "--country", "LB")
    out = capsys.readouterr().out
    assert "Hasan NASRALLAH" in out and "decision: strong" in out
    call_command("screen", "Hasan Nasrallah", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["decision"] == "strong"
    assert data["candidates"][0]["entity"] == "ofac:2686"
    with pytest.raises(CommandError, match="--dob"):
        call_command("screen", "X", "--dob", "31/08/1960")


# --- downloads: the HTTP layer is mocked, the parsing and loading are real ------------------


def transport(files: dict[str, bytes], *, etag='W/"1"', not_modified=False, short=False, seen=None):
    def handler(request: httpx.Request) -> httpx.Response:
        if seen is not None:
            seen.append(dict(request.headers))
        if not_modified and request.headers.get("If-None-Match") == etag:
            return httpx.Response(304)
        body = files[request.url.path.rsplit("/", 1)[-1]]
        headers = {"ETag": etag, "Last-Modified": "Fri, 20 Nov 2026 10:00:00 GMT"}
        if short:
            headers["Content-Length"] = str(len(body) + 1000)
        return httpx.Response(200, content=body, headers=headers)

    return httpx.Client(transport=httpx.MockTransport(handler))


UN_BYTES = (FIXTURES / "un_consolidated.xml").read_bytes()


@pytest.fixture
def un_only(settings):
    settings.SCREENING_LIST_URLS = {"un-xml": ["https://lists.invalid/consolidated.xml"]}


def test_download_loads_and_keeps_etag_and_hash(un_only):
    version = watchlist_download(fmt="un-xml", client=transport({"consolidated.xml": UN_BYTES}))
    assert version.is_active and version.entity_count == 4
    assert version.etag == 'W/"1"'
    assert version.last_modified == "Fri, 20 Nov 2026 10:00:00 GMT"
    assert list(version.raw_hashes.values()) == [__import__("hashlib").sha256(UN_BYTES).hexdigest()]


def test_second_download_is_conditional_and_304_loads_nothing(un_only):
    seen: list = []
    client = transport({"consolidated.xml": UN_BYTES}, not_modified=True, seen=seen)
    first = watchlist_download(fmt="un-xml", client=client)
    assert watchlist_download(fmt="un-xml", client=client) is None
    assert seen[1]["if-none-match"] == 'W/"1"'
    assert seen[1]["if-modified-since"] == "Fri, 20 Nov 2026 10:00:00 GMT"
    assert list(ListVersion.objects.filter(source="un")) == [first]


def test_truncated_download_is_refused(un_only):
    with pytest.raises(LoadRefused):
        watchlist_download(fmt="un-xml", client=transport({"consolidated.xml": UN_BYTES[:-500]}))
    with pytest.raises(LoadRefused, match="truncated"):
        watchlist_download(
            fmt="un-xml", client=transport({"consolidated.xml": UN_BYTES}, short=True)
        )
    assert not ListVersion.objects.exists()


def test_download_task_logs_a_refusal_and_keeps_going(settings, caplog):
    settings.SCREENING_LIST_URLS = {
        "un-xml": ["https://lists.invalid/consolidated.xml"],
        "eu-xml": ["https://lists.invalid/eu.xml"],
    }
    files = {
        "consolidated.xml": b"<CONSOLIDATED_LIST><INDIVID",
        "eu.xml": (FIXTURES / "eu_fsf.xml").read_bytes(),
    }
    from kyc.screening import tasks

    with mock.patch("kyc.screening.download.http_client", side_effect=lambda: transport(files)):
        loaded = tasks.download_lists()
    assert ListVersion.objects.filter(pk__in=loaded, source="eu").count() == 1
    assert not ListVersion.objects.filter(source="un").exists()
    assert "un-xml refused" in caplog.text


def test_ofac_triple_downloads_by_name(settings):
    settings.SCREENING_LIST_URLS = {
        "ofac-csv": [f"https://lists.invalid/{n}" for n in ("sdn.csv", "alt.csv", "add.csv")]
    }
    files = {n: (FIXTURES / n).read_bytes() for n in ("sdn.csv", "alt.csv", "add.csv")}
    version = watchlist_download(fmt="ofac-csv", client=transport(files))
    assert version.entity_count == 22
    assert set(version.raw_hashes) == {"sdn.csv", "alt.csv", "add.csv"}
    assert WatchlistEntity.objects.filter(source="ofac").count() == 22


def test_beat_schedule_names_registered_tasks_on_the_default_queue():
    from celery import current_app

    from kyc.screening import tasks  # noqa: F401 - registers the tasks
    from kyc.screening.schedule import BEAT_SCHEDULE

    for entry in BEAT_SCHEDULE.values():
        assert entry["task"] in current_app.tasks
        assert entry["options"]["queue"] == "default"


def test_rescreen_task_skips_a_superseded_version(lists):
    from kyc.screening import tasks

    client_named("Alena", "Kovalchuk")
    old = lists["eu"]
    newer = watchlist_load(fmt="eu-xml", paths=[FIXTURES / "eu_fsf.xml"])
    assert tasks.rescreen_version(old.pk) == 0
    assert tasks.rescreen_version(newer.pk) == 0  # nothing added or changed
    assert not Screening.objects.exists()
