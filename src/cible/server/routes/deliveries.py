"""Deliveries: ``GET /api/deliveries``, ``GET /api/deliveries/{id}``, ``POST .../retry``.

Analysts and above read them (a delivery names a customer and holds the message
sent); editors retry a failed one, which the audit log records. A retry wakes the
delivery worker: the delivery goes out at once, with its idempotency key unchanged.

The customer's e-mail and phone are masked wherever a delivery quotes them (its
target, its message, its errors) for an analyst without the ``unmask`` grant
(:mod:`cible.access.masking`): the values the profile holds now, and the delivery's
own target by its kind, so that an address the customer has since changed is masked
too.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from cible.access.masking import customer_masks, redact, target_masks
from cible.activation.deliveries import STATUSES, DeliveryNotFoundError, delivery_dict
from cible.server.deps import Analyst, Editor, State
from cible.server.errors import NotFoundError
from cible.workspace import Workspace

router = APIRouter(prefix="/deliveries", tags=["deliveries"])

DeliveryId = Annotated[int, Path(ge=1, le=2**62)]


@router.get("")
async def list_deliveries(
    state: State,
    principal: Analyst,
    status: Annotated[str | None, Query(pattern="^(" + "|".join(STATUSES) + ")$")] = None,
    customer: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    kind: Annotated[str | None, Query(pattern="^(webhook|email|notify)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> list[dict[str, Any]]:
    """Deliveries, newest first, matching every filter given (without their message)."""

    def read(ws: Workspace) -> list[dict[str, Any]]:
        rows = ws.deliveries.list(
            status=status, customer=customer, kind=kind, limit=limit, offset=offset
        )
        masks = customer_masks(ws.table("customers"), (r.customer_id for r in rows), principal)
        masks.update(target_masks(((r.kind, r.target) for r in rows), principal))
        return redact([delivery_dict(row, payload=False) for row in rows], masks)

    return await state.db.call(read)


@router.get("/{delivery_id}")
async def get_delivery(state: State, principal: Analyst, delivery_id: DeliveryId) -> dict[str, Any]:
    """A delivery, its message, and every attempt: when, how it ended, why."""

    def read(ws: Workspace) -> dict[str, Any]:
        log = ws.deliveries.log(delivery_id)
        found = log.delivery
        masks = customer_masks(ws.table("customers"), [found.customer_id], principal)
        masks.update(target_masks([(found.kind, found.target)], principal))
        return redact(log.as_dict(), masks)

    try:
        return await state.db.call(read)
    except DeliveryNotFoundError as exc:
        raise NotFoundError(str(exc)) from None


@router.post("/{delivery_id}/retry")
async def retry_delivery(
    request: Request, state: State, principal: Editor, delivery_id: DeliveryId
) -> dict[str, Any]:
    """Send a failed delivery again, now, with the same idempotency key."""
    try:
        row = await state.change(
            principal,
            "delivery.retry",
            f"delivery:{delivery_id}",
            lambda ws: ws.deliveries.retry(delivery_id),
        )
    except DeliveryNotFoundError as exc:
        raise NotFoundError(str(exc)) from None
    request.app.state.delivery.wake()
    return delivery_dict(row, payload=False)
