"""``GET /api/exports/{segment}?platform=...``: hashed customer lists, ads consent only."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from cible import Workspace
from cible.access.roles import Role
from cible.server.app import create_app
from tests.server.conftest import AS_OF, CUSTOMERS, ORDERS

# a and c consent to ads; b only to e-mail.
CONSENTS = (
    "customer_id,channel,purpose,status\n"
    "a,ads,marketing,granted\nb,email,marketing,granted\nc,ads,marketing,granted\n"
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    folder = tmp_path_factory.mktemp("ads")
    with Workspace.create(folder / "shop") as ws:
        for kind, text in (("customers", CUSTOMERS), ("orders", ORDERS), ("consents", CONSENTS)):
            (folder / f"{kind}.csv").write_text(text)
            ws.imports.load(kind, folder / f"{kind}.csv")
        ws.run(as_of=AS_OF)
        secret = ws.tokens.create("analyst", Role.ANALYST)[0]
    with TestClient(create_app(folder / "shop")) as test_client:
        yield test_client, secret


def test_google_ads_and_meta_lists(client: tuple[TestClient, str]) -> None:
    test_client, secret = client
    headers = {"Authorization": f"Bearer {secret}"}
    google = test_client.get("/api/exports/lifecycle-new?platform=google-ads", headers=headers)
    assert google.status_code == 200, google.text
    digest = hashlib.sha256(b"a@example.com").hexdigest()
    # c's e-mail, "=c@example.com", is valid: hashed, it cannot start a formula any more.
    other = hashlib.sha256(b"=c@example.com").hexdigest()
    assert google.text.splitlines() == ["Email,Phone", f"{digest},", f"{other},"]
    assert (google.headers["X-Cible-Members"], google.headers["X-Cible-Exported"]) == ("3", "2")
    meta = test_client.get(
        "/api/exports/lifecycle-new?platform=meta&channel=ads&format=jsonl", headers=headers
    )
    assert meta.text.splitlines()[0] == f'{{"EMAIL": "{digest}", "PHONE": null}}'
    refused = test_client.get(
        "/api/exports/lifecycle-new?platform=meta&channel=email", headers=headers
    )
    assert refused.status_code == 400
    assert refused.json()["detail"] == "platform meta exports for the ads channel, not 'email'."
    unknown = test_client.get("/api/exports/lifecycle-new?platform=tiktok", headers=headers)
    assert unknown.status_code == 422
