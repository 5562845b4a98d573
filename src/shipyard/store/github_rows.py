"""What arrives from GitHub and what Shipyard sends there: webhook deliveries and dispatches, and
the GitHub App's installations the install flow recorded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from shipyard.domain.errors import NotFound
from shipyard.store.base import StoreBase, stored
from shipyard.store.records import DeliveryRecord, DeliverySummary, DispatchRecord, InstallationRecord
from shipyard.store.tables import GitHubInstallation, RepositoryDispatch, WebhookDelivery, utc_now


class GitHubRows(StoreBase):
    """The Store's webhook deliveries (stored once, claimed once), outbound dispatches and the
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
                return DeliveryRecord.model_validate(row), False
        except IntegrityError:
            key = (WebhookDelivery.source == source, WebhookDelivery.hook_id == hook_id)
            query = select(WebhookDelivery).where(*key, WebhookDelivery.delivery_id == delivery_id)
            async with self._read() as session:
                return DeliveryRecord.model_validate(await session.scalar(query)), True

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

    async def claim_delivery(self, id: int) -> DeliveryRecord | None:
        """The delivery `id`, now `processing`; None when its processing has already ended. A
        delivery already `processing` is taken again: the run that had it was cut short."""
        async with self._writing() as session:
            claimed = await session.execute(
                update(WebhookDelivery)
                .where(WebhookDelivery.id == id, WebhookDelivery.status.in_(("received", "processing")))
                .values(status="processing")
            )
            if not claimed.rowcount:  # type: ignore[attr-defined]
                return None
            row = await session.get(WebhookDelivery, id)
            return DeliveryRecord.model_validate(row)

    async def finish_delivery(self, id: int, status: str, result: dict[str, Any]) -> DeliveryRecord:
        """Record what processing the delivery did (`processed`, `ignored` or `failed`)."""
        async with self._writing() as session:
            row = await session.get(WebhookDelivery, id)
            if row is None:
                raise NotFound(f"webhook delivery {id} not found")
            row.status, row.result, row.processed_at = status, result, utc_now()
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
