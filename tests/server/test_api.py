"""The API through its routes: roles, refusals in the audit log, errors as sentences."""

from __future__ import annotations

import io
import time

import pyarrow.parquet as pq

from cible.access.roles import Role
from tests.server.conftest import Served

BIG = {"name": "Big", "where": {"trait": "monetary_value", "op": ">=", "value": 25}}


def audit(served: Served, **params: object) -> list[dict]:
    answer = served.client.get("/api/audit", params=params, headers=served.as_(Role.ADMIN))
    assert answer.status_code == 200
    return answer.json()["entries"]


def test_no_token_or_a_wrong_one_is_refused_with_401_and_recorded(served: Served):
    client = served.client
    assert client.get("/api/status").status_code == 401
    wrong = {"Authorization": "Bearer cible_" + "x" * 43}
    answer = client.get("/api/segments", headers=wrong)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert "Bearer" in answer.json()["detail"]
    refusals = audit(served, action="auth")
    assert {
        (e["actor"], e["target"], e["outcome"], e["detail"]["reason"])
        for e in refusals
        if e["detail"]["status"] == 401
    } >= {
        ("anonymous", "GET /api/status", "refused", "no token"),
        ("anonymous", "GET /api/segments", "refused", "unknown or revoked token"),
    }


def test_a_viewer_cannot_change_a_segment_and_the_refusal_is_in_the_audit_log(served: Served):
    client = served.client
    answer = client.put("/api/segments/viewer-try", json=BIG, headers=served.as_(Role.VIEWER))
    assert answer.status_code == 403
    assert answer.json() == {"detail": "This needs the editor role; the token has viewer."}
    deleted = client.delete("/api/segments/rfm-champions", headers=served.as_(Role.VIEWER))
    assert deleted.status_code == 403
    stored = client.get("/api/segments/viewer-try", headers=served.as_(Role.VIEWER))
    assert stored.status_code == 404
    refused = [
        (e["actor"], e["target"], e["detail"]["required"])
        for e in audit(served, action="auth")
        if e["outcome"] == "refused" and e["actor"] == "viewer"
    ]
    assert ("viewer", "PUT /api/segments/viewer-try", "editor") in refused
    assert ("viewer", "DELETE /api/segments/rfm-champions", "editor") in refused
    # The API filters by actor and outcome too, as the web's audit page does.
    filtered = audit(served, action="auth", actor="viewer", outcome="refused")
    assert filtered and {(e["actor"], e["outcome"]) for e in filtered} == {("viewer", "refused")}
    assert {e["target"] for e in filtered} >= {"PUT /api/segments/viewer-try"}


def test_an_ingest_key_reads_nothing_and_an_analyst_cannot_read_the_audit_log(served: Served):
    assert served.client.get("/api/status", headers=served.as_(Role.INGEST)).status_code == 403
    assert served.client.get("/api/audit", headers=served.as_(Role.ANALYST)).status_code == 403
    assert served.client.get("/api/tokens", headers=served.as_(Role.EDITOR)).status_code == 403


def test_status_lists_counts_and_imports(served: Served):
    found = served.client.get("/api/status", headers=served.as_(Role.VIEWER)).json()
    assert found["counts"]["customers"] == 3
    assert [i["kind"] for i in found["imports"]] == ["consents", "orders", "customers"]
    assert found["schema_version"] >= 7


def test_editor_saves_previews_pages_and_deletes_a_segment_all_audited(served: Served):
    client, editor = served.client, served.as_(Role.EDITOR)
    preview = client.post("/api/segments/preview", json=BIG, headers=editor).json()
    assert (preview["size"], preview["customers"]) == (2, 3)
    assert [row["customer_id"] for row in preview["sample"]] == ["a", "c"]
    assert client.get("/api/segments/big", headers=editor).status_code == 404  # not saved

    created = client.put("/api/segments/big", json=BIG, headers=editor)
    assert created.status_code == 201 and created.json()["created"] is True
    replaced = client.put("/api/segments/big", json={**BIG, "name": "Bigger"}, headers=editor)
    assert replaced.status_code == 200 and replaced.json()["created"] is False
    shown = client.get("/api/segments/big", headers=served.as_(Role.VIEWER)).json()
    assert shown["definition"]["name"] == "Bigger" and shown["kind"] == "rule"
    assert client.delete("/api/segments/big", headers=editor).json() == {
        "id": "big",
        "deleted": True,
    }
    assert client.delete("/api/segments/big", headers=editor).status_code == 404

    changes = [
        (e["actor"], e["action"], e["outcome"])
        for e in reversed(audit(served))
        if e["target"] == "segment:big"
    ]
    assert changes == [
        ("editor", "segment.save", "ok"),
        ("editor", "segment.save", "ok"),
        ("editor", "segment.delete", "ok"),
        ("editor", "segment.delete", "failed"),
    ]


def test_bad_definitions_and_ids_are_4xx_sentences_never_500(served: Served):
    client, editor = served.client, served.as_(Role.EDITOR)
    bad = client.put("/api/segments/x", json={"where": {"trait": "nope"}}, headers=editor)
    assert bad.status_code == 400 and "unknown trait 'nope'" in bad.json()["detail"]
    other = client.put("/api/segments/x", json={**BIG, "id": "y"}, headers=editor)
    assert other.status_code == 400 and "differs" in other.json()["detail"]
    builtin = client.put("/api/segments/rfm-champions", json=BIG, headers=editor)
    assert builtin.status_code == 400 and "built-in" in builtin.json()["detail"]
    assert client.put("/api/segments/x", content=b"{", headers=editor).status_code == 422
    assert client.put("/api/segments/x", json=[1], headers=editor).status_code == 422
    assert client.get("/api/segments/nope/members", headers=editor).status_code == 404
    for limit in ("0", "1001", "-1", "x"):
        page = client.get(f"/api/segments/lifecycle-new/members?limit={limit}", headers=editor)
        assert page.status_code == 422
    failed = [e for e in audit(served, action="segment.save") if e["target"] == "segment:x"]
    assert {e["outcome"] for e in failed} == {"failed"}


def test_members_are_paged_by_customer_id(served: Served):
    viewer = served.as_(Role.VIEWER)
    first = served.client.get("/api/segments/lifecycle-new/members?limit=2", headers=viewer).json()
    rest = served.client.get(
        "/api/segments/lifecycle-new/members?limit=2&offset=2", headers=viewer
    ).json()
    assert first["total"] == rest["total"] == 3
    ids = [m["customer_id"] for m in first["members"] + rest["members"]]
    assert ids == ["a", "b", "c"]
    assert "monetary_value" in first["members"][0]


def test_customer_shows_profile_traits_memberships_and_current_consents(served: Served):
    client = served.client
    assert client.get("/api/customers/b", headers=served.as_(Role.VIEWER)).status_code == 403
    found = client.get("/api/customers/b", headers=served.as_(Role.ANALYST)).json()
    assert found["profile"]["email"] == "***@example.com"  # masked below the unmask grant
    clear = client.get("/api/customers/b", headers=served.as_(Role.EDITOR)).json()
    assert clear["profile"]["email"] == "b@example.com"
    assert found["traits"]["monetary_value"] == 20.0
    current = {m["segment_id"] for m in found["memberships"] if m["current"]}
    assert "lifecycle-new" in current
    assert [(c["channel"], c["status"]) for c in found["consents"]] == [("email", "withdrawn")]
    missing = client.get("/api/customers/zz", headers=served.as_(Role.ANALYST))
    assert missing.status_code == 404 and missing.json() == {"detail": "No customer 'zz'."}


def test_export_keeps_consented_members_neutralises_formulas_and_is_audited(served: Served):
    client, analyst = served.client, served.as_(Role.ANALYST)
    # A channel export holds e-mails in clear: an editor's (or a token with --unmask).
    editor = served.as_(Role.EDITOR)
    csv = client.get("/api/exports/lifecycle-new?channel=email&format=csv", headers=editor)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("customer_id,email")
    assert [line.split(",")[:2] for line in lines[1:]] == [
        ["a", "a@example.com"],
        ["c", "'=c@example.com"],
    ]
    parquet = client.get("/api/exports/lifecycle-new?format=parquet", headers=analyst)
    table = pq.read_table(io.BytesIO(parquet.content))
    assert table.column("customer_id").to_pylist() == ["a", "b", "c"]
    assert "email" not in table.column_names  # analysis exports hold no contact field
    jsonl = client.get("/api/exports/lifecycle-new?channel=email&format=jsonl", headers=editor)
    assert len(jsonl.text.splitlines()) == 2
    assert (
        client.get("/api/exports/lifecycle-new", headers=served.as_(Role.VIEWER)).status_code == 403
    )
    assert client.get("/api/exports/lifecycle-new?channel=fax", headers=analyst).status_code == 422
    profiling = client.get("/api/exports/lifecycle-new?purpose=profiling", headers=analyst)
    assert profiling.status_code == 400
    assert client.get("/api/exports/nope", headers=analyst).status_code == 400
    exports = audit(served, action="export")
    email_csv = next(
        e for e in exports if e["detail"].get("format") == "csv" and e["outcome"] == "ok"
    )
    assert email_csv["actor"] == "editor" and email_csv["detail"]["contacts"] == "clear"
    assert (email_csv["detail"]["exported"], email_csv["detail"]["excluded"]) == (
        2,
        {"withdrawn": 1},
    )
    assert {e["outcome"] for e in exports} == {"ok", "failed"}


def test_a_run_is_a_job_with_progress_and_a_result(served: Served):
    client = served.client
    assert client.post("/api/runs", headers=served.as_(Role.VIEWER)).status_code == 403
    started = client.post(
        "/api/runs", json={"as_of": "2025-02-01T00:00:00"}, headers=served.as_(Role.ANALYST)
    )
    assert started.status_code == 202
    assert started.headers["location"] == started.json()["url"]
    deadline = time.monotonic() + 60
    while True:
        job = client.get(started.json()["url"], headers=served.as_(Role.ANALYST)).json()
        if job["state"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert job["state"] == "succeeded", job
    assert job["step"] == "done" and job["done"] == job["total"] > 0
    assert job["result"]["customers"] == 3
    ends = [e for e in audit(served, action="run.finish") if e["target"] == f"job:{job['job_id']}"]
    assert [e["outcome"] for e in ends] == ["ok"]
    assert client.get("/api/jobs/999", headers=served.as_(Role.ANALYST)).status_code == 404
    # A job's result may name customers: viewers, who see no profile, see no job either.
    assert client.get(started.json()["url"], headers=served.as_(Role.VIEWER)).status_code == 403
    bad = client.post(
        "/api/runs", json={"as_of": "0001-01-01T00:00:00"}, headers=served.as_(Role.ANALYST)
    )
    assert bad.status_code == 400


def test_tokens_through_the_api_take_effect_at_once(served: Served):
    client, admin = served.client, served.as_(Role.ADMIN)
    created = client.post("/api/tokens", json={"name": "temp", "role": "viewer"}, headers=admin)
    assert created.status_code == 201
    secret = created.json()["token"]
    header = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/status", headers=header).status_code == 200
    listed = client.get("/api/tokens", headers=admin).json()
    assert all("token" not in t and "digest" not in t for t in listed)
    token_id = created.json()["token_id"]
    assert client.delete(f"/api/tokens/{token_id}", headers=admin).json()["revoked_at"]
    assert client.get("/api/status", headers=header).status_code == 401
    assert client.delete(f"/api/tokens/{token_id}", headers=admin).status_code == 404
    bad = client.post("/api/tokens", json={"name": "x", "role": "root"}, headers=admin)
    assert bad.status_code == 422
    changes = [
        (e["actor"], e["action"], e["outcome"]) for e in audit(served, action="token.revoke")
    ]
    assert ("admin", "token.revoke", "refused") in changes


def test_openapi_is_served_without_a_token_and_no_page_needs_a_cdn(served: Served):
    assert served.client.get("/openapi.json").status_code == 200
    # Swagger UI and ReDoc would load their scripts from a CDN: they are not served.
    for page in ("/docs", "/redoc"):
        assert served.client.get(page).status_code == 404


def test_openapi_declares_every_route_with_bearer_auth(served: Served):
    spec = served.client.get("/openapi.json").json()
    assert {
        "/api/status",
        "/api/segments",
        "/api/segments/preview",
        "/api/segments/{segment_id}",
        "/api/segments/{segment_id}/members",
        "/api/customers/{customer_id}",
        "/api/runs",
        "/api/jobs/{job_id}",
        "/api/exports/{segment_id}",
        "/api/audit",
        "/api/tokens",
        "/api/tokens/{token_id}",
    } <= set(spec["paths"])
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"


def test_the_served_app_ingests_with_a_write_key_only(served: Served):
    """/v1 is wired into create_app: an ingest key posts, any other token is refused."""
    status = served.client.get("/api/status", headers=served.as_(Role.VIEWER))
    before = status.json()["counts"]["events"]
    event = {"userId": "a", "event": "Wired", "messageId": "wired-1"}
    for role in (Role.ADMIN, Role.VIEWER):
        refused = served.client.post("/v1/track", json=event, auth=(served.secrets[role], ""))
        assert refused.status_code == 401
    accepted = served.client.post("/v1/track", json=event, auth=(served.secrets[Role.INGEST], ""))
    assert accepted.status_code == 200 and accepted.json() == {"success": True}
    again = served.client.post("/v1/track", json={**event, "writeKey": served.secrets[Role.INGEST]})
    assert again.status_code == 200
    status = served.client.get("/api/status", headers=served.as_(Role.VIEWER))
    assert status.json()["counts"]["events"] == before + 1  # acknowledged twice, stored once
