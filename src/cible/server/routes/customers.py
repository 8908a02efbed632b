"""``GET /api/customers/{id}``: one customer's profile, traits, memberships, consents.

Analysts and above: a profile holds personal data (contact, address), which a
dashboard's viewer token has no need to read. E-mails and phones are masked for an
analyst without the ``unmask`` grant (:mod:`cible.access.masking`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from cible.access.masking import mask_contacts
from cible.server.deps import Analyst, State

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("/{customer_id}")
async def get_customer(
    state: State,
    principal: Analyst,
    customer_id: Annotated[str, Path(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """Profile, traits of the latest run, memberships with history, current consents."""
    found = await state.db.call(lambda ws: ws.customers.profile(customer_id))
    return mask_contacts(found, principal)
