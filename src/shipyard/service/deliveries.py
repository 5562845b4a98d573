"""Webhook deliveries processed durably where workers run. The receiver stores a delivery
(`received`), wakes this process's processor and answers; every worker process runs a
`DeliveryProcessor`, which claims stored deliveries from the store, oldest first, each under a
lease it renews while it works, and acts on up to `AT_ONCE` of them at a time through `Intake`
(matching sources, fetching, starting work orders, replying).

A delivery stored by a process without a worker (`serve --no-worker`), or left by a process that
stopped, is found by the processors' poll. One whose processor died (a SIGKILL, a lost machine)
is claimed again when its lease (`SHIPYARD_HEARTBEAT_TIMEOUT_S`) runs out; the work orders it
starts have ids derived from the delivery, so none starts twice. No Temporal workflow per
delivery: one cost ~25 ms of CPU across the processes, six times all the rest of a delivery
(bench/results/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from shipyard.domain.errors import ShipyardError
from shipyard.service.intake import Intake
from shipyard.service.work_orders import WorkOrderService
from shipyard.store.doorbell import wait
from shipyard.store.github_rows import DELIVERY_BELL
from shipyard.store.records import DeliveryRecord

log = structlog.get_logger()
AT_ONCE = 8  # deliveries one process works on at a time
POLL_S = 1.0  # how often a processor looks for deliveries no one woke it for
MOST_ATTEMPTS = 5  # claims of one delivery, each cut short, before it is recorded failed
PROCESS_TIMEOUT_S = 15 * 60.0  # one delivery's processing at most (a call that never answers)


class DeliveryProcessor:
    """Claims stored deliveries and processes each in a task of its own, `AT_ONCE` at most."""

    def __init__(self, service: WorkOrderService) -> None:
        self.service = service
        self.lease_s = service.settings.heartbeat_timeout_s
        self._slots = asyncio.Semaphore(AT_ONCE)
        self._working: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        """Take up deliveries until cancelled: at once when this process stores one or finishes
        one, else every POLL_S. Cancelled, it gives back what it was working on, unprocessed."""
        bell = self.service.store.doorbell
        try:
            while True:
                ticket = bell.ticket(DELIVERY_BELL)
                while await self.take_up_one():
                    pass
                await wait(ticket, POLL_S)
        finally:
            for task in self._working:
                task.cancel()
            await asyncio.gather(*self._working, return_exceptions=True)

    async def take_up_one(self) -> bool:
        """Claim the oldest free delivery and start processing it, once a slot is free; False when
        none was free (or the store could not be reached: the next poll tries again)."""
        await self._slots.acquire()
        try:
            delivery = await self.service.store.claim_next_delivery(self.lease_s, MOST_ATTEMPTS)
        except Exception:
            self._slots.release()
            log.exception("webhook_claim_failed")
            return False
        if delivery is None:
            self._slots.release()
            return False
        task = asyncio.create_task(self._process(delivery))
        self._working.add(task)
        task.add_done_callback(self._finished)
        return True

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._working.discard(task)
        self._slots.release()
        self.service.store.doorbell.wake(DELIVERY_BELL)  # a slot is free: the next one, if any

    async def _process(self, delivery: DeliveryRecord) -> None:
        """Act on the delivery and record the outcome. Failures are recorded, not raised: a delivery
        is claimed again only when its processor is lost."""
        store = self.service.store
        renewing = asyncio.create_task(self._renew(delivery.id))
        try:
            async with asyncio.timeout(PROCESS_TIMEOUT_S):
                status, result = await Intake(self.service).handle(delivery)
        except TimeoutError:  # its slot and its lease are not held for ever
            status, result = "failed", {"error": f"processing took over {PROCESS_TIMEOUT_S:g} s"}
        except ShipyardError as err:  # GitHub refused a call, say: the message says why
            status, result = "failed", {"error": err.message}
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.shield(store.release_delivery(delivery.id))
            raise
        except Exception as err:
            log.exception("webhook_processing_failed", delivery=delivery.delivery_id)
            status, result = "failed", {"error": type(err).__name__}
        finally:
            renewing.cancel()
        try:
            await store.finish_delivery(delivery.id, status, result)
        except Exception:  # its lease runs out and it is processed again, finding what it started
            log.exception("webhook_outcome_not_recorded", delivery=delivery.delivery_id)

    async def _renew(self, id: int) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            while True:
                await asyncio.sleep(self.lease_s / 3)
                with contextlib.suppress(Exception):  # the store away a moment: renewed next time
                    await self.service.store.renew_delivery(id, self.lease_s)
