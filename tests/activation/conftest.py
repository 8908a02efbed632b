"""A small workspace for activation tests: customers with consents, orders and a run."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cible import Workspace
from cible.domain.config import WorkspaceConfig

CUSTOMERS = (
    "customer_id,email,first_name\n"
    "a,a@example.com,Ann\nb,b@example.com,Bob\nc,,Cy\nd,d@example.com,<b>Dee</b>\n"
)
ORDERS = (
    "order_id,customer_id,ordered_at,amount\n"
    "1,a,2025-01-02,30\n2,b,2025-01-03,20\n3,c,2025-01-04,700\n4,d,2025-01-05,50\n"
)
CONSENTS = (
    "customer_id,channel,purpose,status\n"
    "a,email,marketing,granted\nb,email,marketing,withdrawn\nd,email,marketing,granted\n"
)
AS_OF = datetime(2025, 2, 1)


def make_shop(folder: Path, *, run: bool = True, config: WorkspaceConfig | None = None) -> Path:
    """Create the workspace at ``folder / "shop"`` (run as of :data:`AS_OF`), with
    ``config`` when given (a PostgreSQL backend, say); return it."""
    folder.mkdir(parents=True, exist_ok=True)
    with Workspace.create(folder / "shop", config=config) as ws:
        for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("consents", CONSENTS)):
            (folder / f"{kind}.csv").write_text(text)
            ws.imports.load(kind, folder / f"{kind}.csv")
        if run:
            ws.run(as_of=AS_OF)
    return folder / "shop"
