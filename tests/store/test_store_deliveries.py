"""Webhook deliveries: stored once per hook and delivery id, claimed by one processor at a time under
a lease, then finished with an outcome; dispatches; the GitHub App's installations."""

from __future__ import annotations

import asyncio

import pytest

from shipyard.domain.errors import NotFound
from shipyard.store import Store


async def test_a_delivery_is_stored_once_per_hook(store: Store) -> None:
    first, dup = await store.record_delivery("github", "1", "d-1", "push", None, {"ref": "refs/heads/main"})
    assert not dup and first.status == "received" and first.payload == {"ref": "refs/heads/main"}
    again, dup = await store.record_delivery("github", "1", "d-1", "push", None, {"other": True})
    assert dup and again.id == first.id and again.payload == {"ref": "refs/heads/main"}  # the first is kept
    other, dup = await store.record_delivery("github", "2", "d-1", "push", None, {})
    assert not dup and other.id != first.id


async def test_concurrent_redeliveries_store_exactly_one(store: Store) -> None:
    results = await asyncio.gather(
        *(store.record_delivery("github", "1", "same", "issues", "opened", {"n": i}) for i in range(8))
    )
    assert sorted(dup for _, dup in results) == [False] + [True] * 7
    assert len({record.id for record, _ in results}) == 1


async def test_finish_records_the_outcome_and_lists_newest_first(store: Store) -> None:
    a, _ = await store.record_delivery("github", "1", "a", "push", None, {})
    await store.record_delivery("github", "1", "b", "star", "created", {})
    done = await store.finish_delivery(a.id, "processed", {"work_orders": ["wo-12345678"]})
    assert (
        done.status == "processed" and done.result == {"work_orders": ["wo-12345678"]} and done.processed_at
    )
    assert [d.delivery_id for d in await store.list_deliveries()] == ["b", "a"]
    assert [d.delivery_id for d in await store.list_deliveries(status="received")] == ["b"]


async def test_a_list_leaves_payloads_out_and_one_delivery_has_its_own(store: Store) -> None:
    big = {"commits": [{"message": "x" * 1000}] * 50}
    stored, _ = await store.record_delivery("github", "1", "big", "push", None, big)
    [listed] = await store.list_deliveries()
    assert not hasattr(listed, "payload") and listed.id == stored.id
    assert (await store.get_delivery(stored.id)).payload == big
    with pytest.raises(NotFound, match=f"webhook delivery {stored.id + 1} not found"):
        await store.get_delivery(stored.id + 1)


async def test_deliveries_are_claimed_oldest_first_each_by_one_processor(store: Store) -> None:
    """A claim holds a delivery for its lease: claimers at once get different ones, then none."""
    for name in ("a", "b", "c"):
        await store.record_delivery("github", "1", name, "push", None, {})
    claims = await asyncio.gather(*(store.claim_next_delivery(60, 5) for _ in range(5)))
    claimed = sorted(c.delivery_id for c in claims if c is not None)
    assert claimed == ["a", "b", "c"]  # each once, the other two claimers found none free
    assert {c.status for c in claims if c is not None} == {"processing"}
    await store.finish_delivery(next(c for c in claims if c is not None).id, "processed", {})
    assert await store.claim_next_delivery(60, 5) is None  # finished or leased: nothing free
    assert sorted(d.attempts for d in await store.list_deliveries()) == [1, 1, 1]


async def test_a_lapsed_lease_frees_a_delivery_a_renewed_one_does_not(store: Store) -> None:
    """The process holding a claim died (its lease ran out): the delivery is claimed again; one
    whose processor renews its lease is not; one given back is free at once, not counted."""
    await store.record_delivery("github", "1", "d", "push", None, {})
    first = await store.claim_next_delivery(0.05, 5)
    assert first is not None and first.attempts == 1
    await asyncio.sleep(0.1)
    again = await store.claim_next_delivery(0.2, 5)
    assert again is not None and again.id == first.id and again.attempts == 2
    await store.renew_delivery(first.id, 60)
    await asyncio.sleep(0.3)
    assert await store.claim_next_delivery(60, 5) is None  # renewed past the sleep
    await store.release_delivery(first.id)  # a processor stopping gives it back
    [listed] = await store.list_deliveries()
    assert (listed.status, listed.attempts) == ("received", 1)
    taken = await store.claim_next_delivery(60, 5)
    assert taken is not None and taken.attempts == 2


async def test_a_delivery_cut_short_too_often_is_failed_and_the_next_one_claimed(store: Store) -> None:
    poison, _ = await store.record_delivery("github", "1", "poison", "push", None, {})
    for attempt in (1, 2, 3):
        claimed = await store.claim_next_delivery(0, 3)  # a lease that has run out at once
        assert claimed is not None and (claimed.id, claimed.attempts) == (poison.id, attempt)
    later, _ = await store.record_delivery("github", "1", "later", "push", None, {})
    claimed = await store.claim_next_delivery(60, 3)
    assert claimed is not None and claimed.id == later.id
    failed = await store.get_delivery(poison.id)
    assert failed.status == "failed" and failed.result == {"error": "processing was cut short 3 times"}
    assert failed.processed_at is not None


async def test_a_dispatch_id_is_recorded_once(store: Store) -> None:
    first, seen = await store.begin_dispatch("id-1", "acme/widgets", "deploy", {"dispatch_id": "id-1"}, None)
    assert not seen and first.status == "pending"
    again, seen = await store.begin_dispatch("id-1", "acme/widgets", "other", {}, None)
    assert seen and again.event_type == "deploy"
    sent = await store.finish_dispatch("id-1", None)
    assert sent.status == "sent" and sent.sent_at is not None
    failed = await store.finish_dispatch("id-1", "GitHub answered 404")
    assert (failed.status, failed.error, failed.sent_at) == ("failed", "GitHub answered 404", None)


async def test_an_installation_is_recorded_once_and_listed_for_its_app(store: Store) -> None:
    big = 2**40  # GitHub's ids outgrow 32 bits
    first = await store.record_installation(big, "7", "acme", "Organization", "all", "https://x/1")
    again = await store.record_installation(big, "7", "acme", "Organization", "selected", "https://x/1")
    await store.record_installation(3, "8", "ann", "User", "all", "https://x/3")  # another app's
    assert again.created_at == first.created_at and again.updated_at >= first.updated_at
    [listed] = await store.list_installations("7")
    assert (listed.id, listed.account, listed.repository_selection) == (big, "acme", "selected")
    assert [i.account for i in await store.list_installations("8")] == ["ann"]
