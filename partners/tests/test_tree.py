"""The IB tree as a closure table: paths always equal a naive recomputation from the parent
pointers, cycles and over-deep trees are refused, and the database refuses a bad path."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from partners.exceptions import PartnerError
from partners.models import Partner, PartnerPath
from partners.selectors import partner_ancestors, partner_descendants
from partners.services import partner_move
from tests.factories import PartnerFactory

pytestmark = pytest.mark.django_db


def naive_paths() -> set[tuple[int, int, int]]:
    parent = dict(Partner.objects.values_list("pk", "parent_id"))
    paths = set()
    for pk in parent:
        node, depth = pk, 0
        while node is not None:
            paths.add((node, pk, depth))
            node, depth = parent[node], depth + 1
    return paths


def stored_paths() -> set[tuple[int, int, int]]:
    return set(PartnerPath.objects.values_list("ancestor_id", "descendant_id", "depth"))


def naive_levels_after_move(pk: int, new_parent: int | None) -> int:
    parent = dict(Partner.objects.values_list("pk", "parent_id"))
    parent[pk] = new_parent
    worst = 0
    for node in parent:
        level, seen = 0, set()
        while node is not None:
            if node in seen:
                return 10**6  # a cycle
            seen.add(node)
            node, level = parent[node], level + 1
        worst = max(worst, level)
    return worst


operation = st.tuples(st.sampled_from(["add", "move"]), st.integers(0, 50), st.integers(-1, 50))


@hsettings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=1, max_size=14))
def test_paths_equal_a_naive_recomputation_after_random_registers_and_moves(settings, ops):
    settings.PARTNERS_MAX_DEPTH = 4
    with transaction.atomic():
        nodes: list[Partner] = []
        for kind, a, b in ops:
            if kind == "add" or not nodes:
                parent = nodes[b % len(nodes)] if nodes and b >= 0 else None
                levels = (len(partner_ancestors(partner=parent)) + 2) if parent else 1
                if levels > 4:
                    with pytest.raises(PartnerError):
                        PartnerFactory(parent=parent)
                else:
                    nodes.append(PartnerFactory(parent=parent))
            else:
                node = nodes[a % len(nodes)]
                target = nodes[b % len(nodes)] if b >= 0 else None
                expect_ok = naive_levels_after_move(node.pk, target.pk if target else None) <= 4
                if expect_ok:
                    partner_move(partner=node, new_parent=target)
                else:
                    with pytest.raises(PartnerError), transaction.atomic():
                        partner_move(partner=node, new_parent=target)
            assert stored_paths() == naive_paths()
        transaction.set_rollback(True)


def test_a_move_that_would_make_a_cycle_is_refused_naming_both():
    atlas = PartnerFactory(name="Atlas")
    harbor = PartnerFactory(name="Harbor", parent=atlas)
    kite = PartnerFactory(name="Kite", parent=harbor)
    with pytest.raises(PartnerError) as error:
        partner_move(partner=atlas, new_parent=kite)
    assert error.value.message == "Kite is under Atlas; moving Atlas under Kite would make a cycle."
    with pytest.raises(PartnerError, match="can't be their own parent"):
        partner_move(partner=atlas, new_parent=atlas)
    assert stored_paths() == naive_paths()


def test_a_tree_deeper_than_the_setting_is_refused(settings):
    settings.PARTNERS_MAX_DEPTH = 3
    a = PartnerFactory(name="A")
    b = PartnerFactory(name="B", parent=a)
    c = PartnerFactory(name="C", parent=b)
    with pytest.raises(PartnerError) as error:
        PartnerFactory(name="D", parent=c)
    assert "at most 3 levels deep" in error.value.message
    # Moving a two-level subtree under B would make four levels.
    x = PartnerFactory(name="X")
    PartnerFactory(name="Y", parent=x)
    with pytest.raises(PartnerError) as error:
        partner_move(partner=x, new_parent=b)
    assert error.value.message == (
        "The IB tree may be at most 3 levels deep; putting X under B would make it 4."
    )
    partner_move(partner=x, new_parent=a)  # three levels: fine
    assert stored_paths() == naive_paths()


def test_moving_a_subtree_carries_its_descendants_and_detaching_makes_a_master():
    atlas = PartnerFactory(name="Atlas")
    solstice = PartnerFactory(name="Solstice")
    harbor = PartnerFactory(name="Harbor", parent=atlas)
    kite = PartnerFactory(name="Kite", parent=harbor)
    partner_move(partner=harbor, new_parent=solstice)
    assert partner_ancestors(partner=kite) == [harbor, solstice]
    assert set(partner_descendants(partner=atlas)) == set()
    partner_move(partner=harbor, new_parent=None)
    assert partner_ancestors(partner=kite) == [harbor]
    assert Partner.objects.get(pk=harbor.pk).parent is None
    assert stored_paths() == naive_paths()


def test_ancestors_and_descendants_are_one_query_each(django_assert_num_queries):
    root = PartnerFactory()
    mid = PartnerFactory(parent=root)
    leaf = PartnerFactory(parent=mid)
    with django_assert_num_queries(1):
        assert partner_ancestors(partner=leaf) == [mid, root]
    with django_assert_num_queries(1):
        assert list(partner_descendants(partner=root).order_by("pk")) == [mid, leaf]


def test_the_database_refuses_a_path_that_closes_a_cycle_or_a_false_self_row():
    root = PartnerFactory()
    child = PartnerFactory(parent=root)
    with pytest.raises(IntegrityError, match="cycle"), transaction.atomic():
        PartnerPath.objects.create(ancestor=child, descendant=root, depth=1)
    with pytest.raises(IntegrityError, match="cycle"), transaction.atomic():
        PartnerPath.objects.filter(ancestor=root, descendant=root).update(depth=3)
    with pytest.raises(IntegrityError, match="partner_path_self_at_zero"), transaction.atomic():
        PartnerPath.objects.filter(ancestor=root, descendant=child).update(depth=0)


@pytest.mark.django_db(transaction=True)
def test_two_opposite_moves_at_the_same_moment_cannot_make_a_cycle(monkeypatch):
    """Without the table lock both moves would pass their checks before either wrote (the
    pause after the check makes sure of it), both would commit, and A would end up under B
    under A. With the lock the second waits, then sees the first and refuses."""
    import contextlib
    import threading

    from django.db import connection

    from partners import services

    a = PartnerFactory(name="A")
    b = PartnerFactory(name="B")
    checked = threading.Barrier(2)
    original = services._check_parent

    def check_then_wait_for_the_other(partner, parent):
        original(partner, parent)
        # With the lock the other is blocked before its check: go on alone.
        with contextlib.suppress(threading.BrokenBarrierError):
            checked.wait(timeout=3)

    monkeypatch.setattr(services, "_check_parent", check_then_wait_for_the_other)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def move(partner, parent):
        try:
            start.wait()
            partner_move(partner=partner, new_parent=parent)
            outcomes.append("moved")
        except PartnerError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=move, args=pair) for pair in ((a, b), (b, a))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes)[1] == "moved"
    assert sorted(outcomes)[0].endswith("would make a cycle.")
    assert stored_paths() == naive_paths()
