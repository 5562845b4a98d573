"""Agent slots: at most N steps of an agent at once across every worker of the install.

A step that wants a slot stands in line (a row without `granted_at`) and asks again and again;
it is granted one once fewer than N are held and no one who came before it is still waiting for
the free ones. Holders and those in line beat for their rows; a row no one has beaten for since
`stale_before` (its worker died) is given back. Taking is one write transaction per agent at a
time: SQLite writes one at a time anyway, PostgreSQL takes an advisory lock on the agent.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shipyard.store.base import StoreBase
from shipyard.store.engine import is_sqlite
from shipyard.store.tables import AgentSlot, utc_now


class SlotRows(StoreBase):
    """The Store's agent slots: taken in turn, beaten for, given back."""

    async def take_slot(
        self, agent: str, holder: str, work_order_id: str, limit: int, stale_before: datetime
    ) -> int:
        """0 when `holder` holds one of `agent`'s `limit` slots (granted now or earlier); else its
        place in line (1: next). Rows beaten for last before `stale_before` are given back first."""
        async with self._writing() as session:
            await self._one_at_a_time(session, agent)
            now = utc_now()  # after the lock: the line is in the order takers got their turn
            await session.execute(
                delete(AgentSlot).where(AgentSlot.agent == agent, AgentSlot.beat_at < stale_before)
            )
            row = await session.get(AgentSlot, holder)
            if row is None:
                row = AgentSlot(
                    holder=holder, agent=agent, work_order_id=work_order_id, enqueued_at=now, beat_at=now
                )
                session.add(row)
                await session.flush()
            row.beat_at = now
            if row.granted_at is not None:
                return 0
            held = await session.scalar(
                select(func.count()).where(AgentSlot.agent == agent, AgentSlot.granted_at.is_not(None))
            )
            line = await session.scalars(
                select(AgentSlot.holder)
                .where(AgentSlot.agent == agent, AgentSlot.granted_at.is_(None))
                .order_by(AgentSlot.enqueued_at, AgentSlot.holder)
            )
            place, free = list(line).index(holder), limit - int(held or 0)
            if place < free:
                row.granted_at = now
                return 0
            return place - max(free, 0) + 1

    async def _one_at_a_time(self, session: AsyncSession, agent: str) -> None:
        if not is_sqlite(self.engine.url):  # SQLite's write transactions already are
            await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"shipyard-slot:{agent}"))))

    async def beat_slot(self, holder: str) -> None:
        """`holder` is still alive: its row is not given back yet."""
        async with self._writing() as session:
            await session.execute(
                update(AgentSlot).where(AgentSlot.holder == holder).values(beat_at=utc_now())
            )

    async def give_back_slot(self, holder: str) -> None:
        """`holder` is done with its slot (or its place in line)."""
        async with self._writing() as session:
            await session.execute(delete(AgentSlot).where(AgentSlot.holder == holder))
