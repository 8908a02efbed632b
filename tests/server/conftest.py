"""A small served workspace shared by a test module: three customers, a run, a token per role."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from cible import Workspace
from cible.access.roles import Role
from cible.server.app import create_app

CUSTOMERS = "customer_id,email\na,a@example.com\nb,b@example.com\nc,=c@example.com\n"
ORDERS = (
    "order_id,customer_id,ordered_at,amount\n"
    "1,a,2025-01-02,30\n2,b,2025-01-03,20\n3,c,2025-01-04,700\n"
)
CONSENTS = (
    "customer_id,channel,purpose,status\n"
    "a,email,marketing,granted\nb,email,marketing,withdrawn\nc,email,marketing,granted\n"
)
AS_OF = datetime(2025, 2, 1)


@dataclass
class Served:
    """The test client, the workspace folder and a header per role."""

    client: TestClient
    folder: Path
    secrets: dict[Role, str]

    def as_(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secrets[role]}"}


def make_workspace(folder: Path) -> dict[Role, str]:
    """Create the small workspace at ``folder``, run it, and return a token per role."""
    folder.mkdir(parents=True)
    with Workspace.create(folder / "shop") as ws:
        for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("consents", CONSENTS)):
            (folder / f"{kind}.csv").write_text(text)
            ws.imports.load(kind, folder / f"{kind}.csv")
        ws.run(as_of=AS_OF)
        return {role: ws.tokens.create(role.value, role)[0] for role in Role}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("server") / "data"
    secrets = make_workspace(folder)
    with TestClient(create_app(folder / "shop")) as client:
        yield Served(client, folder / "shop", secrets)
