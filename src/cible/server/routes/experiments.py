"""Experiments: ``/api/experiments`` — a campaign's analysis against its holdout, the
power calculator and budget allocation.

Everyone may read: nothing here changes the workspace.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from cible.server.deps import State, Viewer
from cible.server.errors import NotFoundError
from cible.server.routes.jobs import checked_moment
from cible.workspace import Workspace

router = APIRouter(prefix="/experiments", tags=["experiments"])

CampaignId = Annotated[str, Path(min_length=1, max_length=64)]


class BudgetRequest(BaseModel):
    """Campaigns whose measured returns to use, and what may be spent."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    campaigns: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=50
    )
    budget: float = Field(ge=0, le=1e12)
    channel_caps: dict[str, Annotated[float, Field(ge=0, le=1e12)]] = {}
    whole_customers: bool = False


@router.get("/power")
async def power(
    state: State,
    principal: Viewer,
    metric: Literal["conversion", "revenue"] = "conversion",
    baseline: Annotated[float, Query(gt=0, le=1e9)] = 0.05,
    mde: Annotated[float, Query(gt=0, le=1e9)] = 0.01,
    sd: Annotated[float | None, Query(gt=0, le=1e9)] = None,
    n_per_arm: Annotated[int | None, Query(ge=2, le=1_000_000_000)] = None,
    power: Annotated[float, Query(ge=0.5, le=0.999)] = 0.8,
    ratio: Annotated[float, Query(ge=0.01, le=100)] = 1.0,
) -> dict[str, Any]:
    """Customers per arm to detect ``mde`` (or the power of ``n_per_arm``)."""
    return await state.db.call(
        lambda ws: ws.experiments.power(
            metric=metric,
            baseline=baseline,
            mde=mde,
            sd=sd,
            n_per_arm=n_per_arm,
            power=power,
            ratio=ratio,
        )
    )


@router.post("/budget")
async def budget(
    state: State,
    principal: Viewer,
    request: Annotated[BudgetRequest, Body()],
) -> dict[str, Any]:
    """Allocate a budget across the segments and channels the campaigns measured."""

    def allocate(ws: Workspace) -> dict[str, Any]:
        for campaign_id in request.campaigns:
            _known(ws, campaign_id)
        return ws.experiments.budget(
            request.campaigns,
            request.budget,
            channel_caps=request.channel_caps,
            whole_customers=request.whole_customers,
        )

    return await state.db.call(allocate)


@router.get("/campaigns/{campaign_id}")
async def analyse(
    state: State,
    principal: Viewer,
    campaign_id: CampaignId,
    as_of: datetime | None = None,
    window_days: Annotated[int | None, Query(ge=1, le=365)] = None,
    pre_days: Annotated[int | None, Query(ge=1, le=3650)] = None,
    margin: Annotated[float | None, Query(gt=0, le=1)] = None,
    sequential: bool = False,
) -> dict[str, Any]:
    """Each variant against the holdout, per segment: conversion, revenue, lift, return."""
    moment = checked_moment(as_of)

    def read(ws: Workspace) -> dict[str, Any]:
        _known(ws, campaign_id)
        return ws.experiments.analyse(
            campaign_id,
            as_of=moment,
            window_days=window_days,
            pre_days=pre_days,
            margin=margin,
            sequential=sequential,
        ).as_dict()

    return await state.db.call(read)


def _known(ws: Workspace, campaign_id: str) -> None:
    if campaign_id not in {c["id"] for c in ws.campaigns.list()}:
        raise NotFoundError(f"No campaign {campaign_id!r}.")
