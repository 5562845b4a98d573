"""Webhook deliveries: stored once per hook and delivery id, then finished with an outcome; dispatches;
the GitHub App's installations."""

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


async def test_a_delivery_is_claimed_until_its_processing_ends(store: Store) -> None:
    """Claiming marks it `processing`; a run cut short takes it again; a finished one is left alone."""
    delivery, _ = await store.record_delivery("github", "1", "c", "push", None, {})
    claimed = await store.claim_delivery(delivery.id)
    assert claimed is not None and claimed.status == "processing" and claimed.delivery_id == "c"
    again = await store.claim_delivery(delivery.id)
    assert again is not None and again.id == delivery.id
    await store.finish_delivery(delivery.id, "processed", {})
    assert await store.claim_delivery(delivery.id) is None
    assert [d.status for d in await store.list_deliveries()] == ["processed"]


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
