"""What arrives from GitHub and what Shipyard sends there: webhook deliveries and dispatches, and
the GitHub App's installations the install flow recorded."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from shipyard.domain.errors import NotFound
from shipyard.store.base import StoreBase, stored
from shipyard.store.records import DeliveryRecord, DeliverySummary, DispatchRecord, InstallationRecord
from shipyard.store.tables import GitHubInstallation, RepositoryDispatch, WebhookDelivery, utc_now

DELIVERY_BELL = "webhook-delivery"  # the doorbell's key for a delivery just stored
_DELIVERY = WebhookDelivery.__table__.c


def _free(now: datetime) -> ColumnElement[bool]:
    """A delivery no process is working on: `received`, or claimed under a lease that ran out."""
    lapsed = or_(_DELIVERY.lease_until.is_(None), _DELIVERY.lease_until < now)
    return or_(_DELIVERY.status == "received", and_(_DELIVERY.status == "processing", lapsed))


class GitHubRows(StoreBase):
    """The Store's webhook deliveries (stored once, claimed under a lease), outbound dispatches and the
    GitHub App's installations."""

    async def record_delivery(
        self,
        source: str,
        hook_id: str,
        delivery_id: str,
        event: str,
        action: str | None,
        payload: dict[str, Any],
    ) -> tuple[DeliveryRecord, bool]:
        """Store a delivery as `received`; (the stored one, True) when it was stored before."""
        row = WebhookDelivery(
            source=source,
            hook_id=hook_id,
            delivery_id=delivery_id,
            event=event,
            action=action,
            payload=payload,
            status="received",
            received_at=utc_now(),
        )
        try:
            async with self._writing() as session:
                session.add(row)
                await session.flush()
                stored_row = DeliveryRecord.model_validate(row)
        except IntegrityError:
            key = (WebhookDelivery.source == source, WebhookDelivery.hook_id == hook_id)
            query = select(WebhookDelivery).where(*key, WebhookDelivery.delivery_id == delivery_id)
            async with self._read() as session:
                return DeliveryRecord.model_validate(await session.scalar(query)), True
        self.doorbell.wake(DELIVERY_BELL)  # committed: this process's delivery processor takes it up
        return stored_row, False

    # -- outbound repository dispatches ---------------------------------------------------------

    async def begin_dispatch(
        self,
        id: str,
        repository: str,
        event_type: str,
        client_payload: dict[str, Any],
        work_order_id: str | None,
    ) -> tuple[DispatchRecord, bool]:
        """Record a dispatch as `pending`; (the stored one, True) when its id was recorded before."""
        row = RepositoryDispatch(
            id=id, repository=repository, event_type=event_type, client_payload=client_payload,
            work_order_id=work_order_id, status="pending", created_at=utc_now(),
        )  # fmt: skip
        try:
            async with self._writing() as session:
                session.add(row)
                await session.flush()
                return DispatchRecord.model_validate(row), False
        except IntegrityError:
            async with self._read() as session:
                stored = await session.get(RepositoryDispatch, id)
            if stored is None:  # the integrity error was another one: the work order does not exist
                raise NotFound(f"work order '{work_order_id}' not found") from None
            return DispatchRecord.model_validate(stored), True

    async def finish_dispatch(self, id: str, error: str | None) -> DispatchRecord:
        """Mark a dispatch `sent`, or `failed` with GitHub's answer."""
        async with self._writing() as session:
            row = await session.get(RepositoryDispatch, id)
            if row is None:
                raise NotFound(f"dispatch {id} not found")
            row.status, row.error = ("failed", error) if error else ("sent", None)
            row.sent_at = None if error else utc_now()
            return DispatchRecord.model_validate(await stored(session, row))

    async def get_dispatch(self, id: str) -> DispatchRecord:
        async with self._read() as session:
            row = await session.get(RepositoryDispatch, id)
        if row is None:
            raise NotFound(f"dispatch {id} not found")
        return DispatchRecord.model_validate(row)

    async def add_dispatch_report(self, id: str, report: dict[str, Any]) -> tuple[DispatchRecord, bool]:
        """Keep a report of the work dispatch `id` started, unless one of its state came before (or
        the work has ended); (the dispatch, whether the report was new)."""
        async with self._writing() as session:
            row = await session.get(RepositoryDispatch, id, with_for_update=True)
            if row is None:
                raise NotFound(f"dispatch {id} not found")
            record = DispatchRecord.model_validate(row)
            states = {r.get("state") for r in record.reports or []}
            if report.get("state") in states or record.final_report is not None:
                return record, False
            row.reports = [*(record.reports or []), report]
            return DispatchRecord.model_validate(await stored(session, row)), True

    async def claim_next_delivery(self, lease_s: float, most_attempts: int) -> DeliveryRecord | None:
        """The oldest delivery free to process, now `processing` under a lease of `lease_s` that its
        processor renews (`renew_delivery`); None when none is free. Free: `received`, or
        `processing` under a lease that ran out (the process that had it died). One claimed more
        than `most_attempts` times (each cut short) is recorded `failed` instead, and the next
        free one is claimed."""
        while True:
            now = utc_now()
            async with self.read_engine.connect() as conn:  # a poll that finds none writes nothing
                if await conn.scalar(select(_DELIVERY.id).where(_free(now)).limit(1)) is None:
                    return None
            async with self._writing() as session:
                # SKIP LOCKED: on PostgreSQL, processors claiming at once take different rows.
                oldest = select(WebhookDelivery).where(_free(now)).order_by(WebhookDelivery.id).limit(1)
                row = await session.scalar(oldest.with_for_update(skip_locked=True))
                if row is None:
                    return None
                row.status, row.attempts = "processing", row.attempts + 1
                row.lease_until = now + timedelta(seconds=lease_s)
                if row.attempts <= most_attempts:
                    return DeliveryRecord.model_validate(await stored(session, row))
                row.status, row.lease_until, row.processed_at = "failed", None, now
                row.result = {"error": f"processing was cut short {most_attempts} times"}

    async def renew_delivery(self, id: int, lease_s: float) -> None:
        """Extend the lease on a delivery this process is processing."""
        lease = utc_now() + timedelta(seconds=lease_s)
        async with self._writing() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == id, WebhookDelivery.status == "processing")
                .values(lease_until=lease)
            )

    async def release_delivery(self, id: int) -> None:
        """Give a delivery back, unprocessed (this process is stopping): `received` again, free to
        claim at once, and this claim not counted as one cut short."""
        async with self._writing() as session:
            await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == id, WebhookDelivery.status == "processing")
                .values(status="received", lease_until=None, attempts=WebhookDelivery.attempts - 1)
            )

    async def finish_delivery(self, id: int, status: str, result: dict[str, Any]) -> DeliveryRecord:
        """Record what processing the delivery did (`processed`, `ignored` or `failed`)."""
        async with self._writing() as session:
            row = await session.get(WebhookDelivery, id)
            if row is None:
                raise NotFound(f"webhook delivery {id} not found")
            row.status, row.result, row.processed_at, row.lease_until = status, result, utc_now(), None
            return DeliveryRecord.model_validate(await stored(session, row))

    async def list_deliveries(self, *, status: str | None = None, limit: int = 50) -> list[DeliverySummary]:
        """Deliveries, newest first, without their payloads."""
        query = (
            select(WebhookDelivery)
            .options(defer(WebhookDelivery.payload, raiseload=True))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        async with self._read() as session:
            return [DeliverySummary.model_validate(r) for r in await session.scalars(query)]

    async def get_delivery(self, id: int) -> DeliveryRecord:
        """The delivery `id` with its payload."""
        async with self._read() as session:
            row = await session.get(WebhookDelivery, id)
            if row is None:
                raise NotFound(f"webhook delivery {id} not found")
            return DeliveryRecord.model_validate(row)

    # -- the GitHub App's installations ----------------------------------------------------------

    async def record_installation(
        self, id: int, app_id: str, account: str, account_type: str, repository_selection: str, html_url: str
    ) -> InstallationRecord:
        """Keep installation `id` of app `app_id` as GitHub described it (again: replaced)."""
        fields = {
            "app_id": app_id, "account": account, "account_type": account_type,
            "repository_selection": repository_selection, "html_url": html_url, "updated_at": utc_now(),
        }  # fmt: skip
        async with self._writing() as session:
            row = await session.get(GitHubInstallation, id, with_for_update=True)
            if row is None:
                row = GitHubInstallation(id=id, created_at=fields["updated_at"])
                session.add(row)
            for key, value in fields.items():
                setattr(row, key, value)
            return InstallationRecord.model_validate(await stored(session, row))

    async def list_installations(self, app_id: str) -> list[InstallationRecord]:
        """The recorded installations of app `app_id`, oldest first."""
        query = select(GitHubInstallation).where(GitHubInstallation.app_id == app_id)
        async with self._read() as session:
            rows = await session.scalars(query.order_by(GitHubInstallation.created_at, GitHubInstallation.id))
            return [InstallationRecord.model_validate(row) for row in rows]
