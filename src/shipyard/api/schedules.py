"""Schedule routes: the schedules of projects' `on: schedule` sources, paused, resumed, fired now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from shipyard.api.deps import ServiceDep
from shipyard.domain.models import RequestModel
from shipyard.service.schedules import ScheduleService, ScheduleView

router = APIRouter(prefix="/api/schedules", tags=["schedules"])


async def get_schedules(service: ServiceDep) -> ScheduleService:
    return ScheduleService(service)


SchedulesDep = Annotated[ScheduleService, Depends(get_schedules)]


class ScheduleList(BaseModel):
    schedules: list[ScheduleView]


class ScheduleResponse(BaseModel):
    schedule: ScheduleView


class Triggered(ScheduleResponse):
    work_order_id: str | None  # None when Temporal had not reported the firing within a few seconds


class PauseRequest(RequestModel):
    note: str | None = None


@router.get("")
async def list_schedules(
    schedules: SchedulesDep, project: Annotated[str | None, Query(max_length=100)] = None
) -> ScheduleList:
    """Every schedule (of `project`, a name or id): times, next firings, paused or not, last work order."""
    return ScheduleList(schedules=await schedules.list_all(project))


@router.get("/{schedule_id}")
async def show_schedule(schedule_id: str, schedules: SchedulesDep) -> ScheduleResponse:
    return ScheduleResponse(schedule=await schedules.view(await schedules.planned(schedule_id)))


@router.post("/{schedule_id}/pause")
async def pause_schedule(
    schedule_id: str, schedules: SchedulesDep, body: PauseRequest | None = None
) -> ScheduleResponse:
    """Stop firing until resumed (a note says why, if given)."""
    return ScheduleResponse(schedule=await schedules.pause(schedule_id, body.note if body else None))


@router.post("/{schedule_id}/resume")
async def resume_schedule(schedule_id: str, schedules: SchedulesDep) -> ScheduleResponse:
    return ScheduleResponse(schedule=await schedules.resume(schedule_id))


@router.post("/{schedule_id}/trigger", status_code=202)
async def trigger_schedule(schedule_id: str, schedules: SchedulesDep) -> Triggered:
    """Fire now, paused or not; 409 while its last work order runs under `overlap: skip`."""
    view, work_order_id = await schedules.trigger(schedule_id)
    return Triggered(schedule=view, work_order_id=work_order_id)
