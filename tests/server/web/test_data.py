"""The data pages in-process: upload, preview, import as a job, rejects, quality,
duplicates with merge and undo; rights, CSRF, masking and the audit log."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi.testclient import TestClient
from pydantic import Field

from cible import Workspace
from cible.access.roles import Role
from cible.server.app import create_app
from cible.server.routes.jobs import ImportCreate
from cible.server.served import INCOMING
from cible.server.web import duplicates, upload_pages, uploads
from cible.store.staging import MAX_NAME_CHARS
from tests.server.web.shop import csrf_of, sign_in

#: A French export: two of its four rows are bad (a date that does not exist, no id).
FRENCH = (
    "Identifiant client;Courriel;Prénom;Date d'inscription\n"
    "C1;anne@example.com;Anne;12/03/2024\n"
    "C2;bob@example.com;Bob;31/02/2024\n"
    ";zoe@example.com;Zoé;01/01/2024\n"
    "C4;luc@example.com;Luc;02/05/2024\n"
).encode()
#: Two profiles of one person (same e-mail), and someone else.
TWINS = (
    b"customer_id,email,first_name,last_name\n"
    b"T1,twin@example.com,Jeanne,Martin\n"
    b"T2,twin@example.com,Jeanne,Martin\n"
    b"T3,other@example.com,Paul,Durand\n"
)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[Role, str]]:
    folder = tmp_path_factory.mktemp("data") / "shop"
    with Workspace.create(folder) as ws:
        secrets = {role: ws.tokens.create(f"{role.value}-data", role)[0] for role in Role}
    return folder, secrets


@pytest.fixture
def client(shop: tuple[Path, dict[Role, str]]) -> Iterator[TestClient]:
    with TestClient(create_app(shop[0])) as opened:
        yield opened


def _incoming(shop: Path) -> list[str]:
    folder = shop / INCOMING
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def _upload(
    client: TestClient, content: bytes, kind: str = "customers", name: str = "x.csv"
) -> Any:
    token = csrf_of(client.get("/data/upload").text)
    return client.post(
        "/data/upload",
        data={"csrf_token": token, "kind": kind},
        files={"file": (name, content, "text/csv")},
        follow_redirects=False,
    )


def _audited(client: TestClient, admin: str) -> list[tuple[str, str]]:
    """(action, outcome) of the latest audit log entries, read through the API."""
    answer = client.get("/api/audit?limit=200", headers={"Authorization": f"Bearer {admin}"})
    return [(e["action"], e["outcome"]) for e in answer.json()["entries"]]


def _wait(client: TestClient, location: str) -> dict[str, Any]:
    job_id = location.split("job=")[-1] if "job=" in location else location.rsplit("/", 1)[-1]
    for _ in range(600):
        found: dict[str, Any] = client.get(f"/data/jobs/{job_id}.json").json()
        if found["finished"]:
            return found
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} did not end")


def _selected(html: str) -> list[str]:
    """The field each column's select of a preview page has selected ("" for none)."""
    selects = re.findall(r'<select id="field-\d+" name="field">(.*?)</select>', html, re.S)
    return [next(iter(re.findall(r'<option value="([^"]*)" selected>', s)), "") for s in selects]


def _import(client: TestClient, content: bytes, mapping: dict[str, str] | None, name: str) -> Any:
    """Upload and import ``content``: each column read as ``mapping`` says ("not imported"
    when it does not name the column), or as the preview proposed when ``mapping`` is None."""
    uploaded = _upload(client, content, name=name)
    assert uploaded.status_code == 303, uploaded.text
    preview = client.get(uploaded.headers["location"])
    token = csrf_of(preview.text)
    upload_name = uploaded.headers["location"].split("/")[-1].split("?")[0]
    header = content.decode().splitlines()[0]
    columns = header.split(";" if ";" in header else ",")
    fields = _selected(preview.text) if mapping is None else [mapping.get(c, "") for c in columns]
    return client.post(
        f"/data/uploads/{upload_name}/import",
        data={"csrf_token": token, "kind": "customers", "column": columns, "field": fields},
        follow_redirects=False,
    )


def test_a_french_file_is_previewed_as_the_cli_reads_it_and_imported_with_its_rejects(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    uploaded = _upload(client, FRENCH, name="clients.csv")
    assert uploaded.status_code == 303
    location = uploaded.headers["location"]
    assert location.startswith("/data/uploads/") and location.endswith("?kind=customers")
    assert [n.endswith("-clients.csv") for n in _incoming(folder)] == [True]

    preview = client.get(location)
    assert preview.status_code == 200
    assert "Identifiant client" in preview.text and "anne@example.com" in preview.text
    # As `cible import` maps it: Courriel and Prénom are known aliases, the id is not.
    assert '<option value="email" selected>' in preview.text
    assert '<option value="first_name" selected>' in preview.text
    assert "Choose a column for each required field: customer_id." in preview.text
    assert "<code>;</code>" in preview.text  # the separator detected

    # Without a column for customer_id the import is not started; the file stays.
    refused = _import(client, FRENCH, {}, "clients.csv")
    assert refused.status_code == 422
    assert "customer_id" in refused.text

    mapping = {
        "Identifiant client": "customer_id",
        "Courriel": "email",
        "Prénom": "first_name",
        "Date d'inscription": "created_at",
    }
    for name in _incoming(folder):
        (folder / INCOMING / name).unlink()
    started = _import(client, FRENCH, mapping, "clients.csv")
    assert started.status_code == 303 and started.headers["location"].startswith("/data/jobs/")
    job = _wait(client, started.headers["location"])
    assert job["state"] == "succeeded", job
    assert (job["result"]["read"], job["result"]["loaded"], job["result"]["rejected"]) == (4, 2, 2)
    assert job["result"]["file"] == "clients.csv"
    rejects = job["rejects"]["rejects"]
    assert [(r["file"], r["line"], r["column_name"]) for r in rejects] == [
        ("clients.csv", 3, "created_at"),
        ("clients.csv", 4, "customer_id"),
    ]
    assert all(r["reason"] for r in rejects)
    assert _incoming(folder) == []  # the copy is deleted once read
    page = client.get(started.headers["location"])
    assert "31/02/2024" in page.text and "missing customer_id" in page.text

    actions = {action for action, _outcome in _audited(client, secrets[Role.ADMIN])}
    assert {"import.upload", "import.start", "import.finish"} <= actions


def test_a_column_chosen_as_not_imported_is_left_out_even_when_its_name_is_a_field(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    content = b"customer_id,Courriel,phone\nNI1,ann@example.com,+33612345678\n"
    location = _upload(client, content, name="left-out.csv").headers["location"]
    name = location.split("/")[-1].split("?")[0]
    columns = ["customer_id", "Courriel", "phone"]
    chosen = [("column", c) for c in columns] + [("field", f) for f in ("customer_id", "", "")]
    seen = client.get(f"/data/uploads/{name}", params=[("kind", "customers"), *chosen])
    assert '<option value="customer_id" selected>' in seen.text
    assert '<option value="email" selected>' not in seen.text
    assert '<option value="phone" selected>' not in seen.text
    started = _import(client, content, {"customer_id": "customer_id"}, "left-out.csv")
    assert _wait(client, started.headers["location"])["state"] == "succeeded"
    with Workspace.open(folder) as ws:
        customers = ws.table("customers")
        stored = customers.filter(customers.customer_id == "NI1").to_pyarrow().to_pylist()
    assert [(r["email"], r["phone"]) for r in stored] == [(None, None)]
    client.post(f"/data/uploads/{name}/cancel", data={"csrf_token": csrf_of(seen.text)})


def test_a_column_name_as_long_as_staging_reads_is_imported_and_a_refusal_is_shown(
    client: TestClient, shop: tuple[Path, dict[Role, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    long = "Adresse électronique " + "x" * (MAX_NAME_CHARS - 21)
    content = f"customer_id,{long}\nLC1,lc1@example.com\n".encode()
    started = _import(client, content, {"customer_id": "customer_id", long: "email"}, "long.csv")
    assert started.status_code == 303, started.text
    assert _wait(client, started.headers["location"])["result"]["loaded"] == 1

    class Stricter(ImportCreate):  # whatever the API refuses is said on the preview page
        mapping: dict[str, Annotated[str, Field(max_length=10)] | None]

    monkeypatch.setattr(upload_pages, "ImportCreate", Stricter)
    refused = _import(client, content, {"customer_id": "customer_id", long: "email"}, "long.csv")
    assert refused.status_code == 422
    assert "The import cannot start: " in refused.text
    assert "mapping.email: String should have at most 10 characters" in refused.text
    assert f'<th scope="col">{long}</th>' in refused.text  # the preview, to choose again
    cancel = refused.url.path.replace("/import", "/cancel")
    client.post(cancel, data={"csrf_token": csrf_of(refused.text)})


def test_the_data_page_lists_imports_with_links_to_rejects_and_masks_them_for_analysts(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    _folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data")
    bad = b"customer_id;email;phone\nM1;m1@example.com;+33612345678\nM2;pas-un-mail;0612\n"
    job = _wait(client, _import(client, bad, None, "contacts.csv").headers["location"])
    import_id = job["result"]["import_id"]

    sign_in(client, secrets[Role.ANALYST], "/data")
    listed = client.get("/data.json").json()
    assert any(
        i["import_id"] == import_id and i["file"] == "contacts.csv" for i in listed["imports"]
    )
    page = client.get("/data")
    assert f"/data/imports/{import_id}/rejects" in page.text
    french = client.get(f"/data/imports/{import_id}/rejects?lang=fr")
    assert french.status_code == 200 and '<html lang="fr">' in french.text
    rows = client.get(f"/data/imports/{import_id}/rejects.json").json()["rejects"]
    assert rows and all(r["value"] != "pas-un-mail" for r in rows)  # masked for an analyst
    assert "pas-un-mail" not in french.text
    assert client.get("/data/imports/999999/rejects").status_code == 404

    sign_in(client, secrets[Role.VIEWER], "/overview")
    assert client.get("/data").status_code == 403


def test_uploads_refused_leave_no_file(
    client: TestClient, shop: tuple[Path, dict[Role, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, secrets = shop
    sign_in(client, secrets[Role.ANALYST], "/overview")
    token = csrf_of(client.get("/overview").text)
    refused = client.post(
        "/data/upload",
        data={"csrf_token": token, "kind": "customers"},
        files={"file": ("a.csv", TWINS, "text/csv")},
    )
    assert refused.status_code == 403 and _incoming(folder) == []

    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    forged = client.post(
        "/data/upload",
        data={"csrf_token": "forged", "kind": "customers"},
        files={"file": ("a.csv", TWINS, "text/csv")},
    )
    assert forged.status_code == 403 and _incoming(folder) == []

    monkeypatch.setattr(uploads, "_FRAMING_BYTES", 0)
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 100)
    token = csrf_of(client.get("/data/upload").text)
    too_large = client.post(
        "/data/upload",
        data={"csrf_token": token, "kind": "customers"},
        files={"file": ("big.csv", b"x" * 5000, "text/csv")},
    )
    assert too_large.status_code == 413
    assert "The file is larger than" in too_large.text and _incoming(folder) == []
    # A declared length within bounds, the file itself over the limit: stopped reading.
    monkeypatch.setattr(uploads, "_FRAMING_BYTES", 10_000)
    cut = _upload(client, b"x" * 5000, name="big.csv")
    assert cut.status_code == 413 and _incoming(folder) == []
    empty = _upload(client, b"", name="empty.csv")
    assert empty.status_code == 422 and _incoming(folder) == []


def test_an_upload_cut_off_before_its_closing_boundary_is_refused_and_deleted(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    token = csrf_of(client.get("/data/upload").text)
    fields = "".join(
        f'--cut\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in (("csrf_token", token), ("kind", "customers"))
    )
    head = 'Content-Disposition: form-data; name="file"; filename="cut.csv"\r\n\r\n'
    body = f"{fields}--cut\r\n{head}customer_id,email\nC1,a@b.fr\nC2,b@".encode()
    cut = client.post(
        "/data/upload",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=cut"},
        follow_redirects=False,
    )
    assert cut.status_code == 400 and "cut off or malformed" in cut.text
    assert _incoming(folder) == []


def test_an_upload_removes_the_copies_left_over_a_day(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    forgotten = _upload(client, TWINS, name="forgotten.csv").headers["location"]
    name = forgotten.split("/")[-1].split("?")[0]
    day_ago = time.time() - 24 * 3600 - 60
    os.utime(folder / INCOMING / name, (day_ago, day_ago))
    recent = _upload(client, TWINS, name="recent.csv").headers["location"]
    kept = recent.split("/")[-1].split("?")[0]
    assert _incoming(folder) == [kept]
    assert client.get(forgotten).status_code == 404
    # And when the server starts.
    os.utime(folder / INCOMING / kept, (day_ago, day_ago))
    with TestClient(create_app(folder)):
        assert _incoming(folder) == []


def test_a_binary_file_is_refused_by_the_name_the_user_gave_it(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    location = _upload(client, bytes(range(256)) * 50, name="photo.csv").headers["location"]
    preview = client.get(location)
    assert preview.status_code == 422
    assert "photo.csv looks like a binary file" in preview.text
    assert str(folder) not in preview.text and INCOMING not in preview.text
    name = location.split("/")[-1].split("?")[0]
    client.post(f"/data/uploads/{name}/cancel", data={"csrf_token": csrf_of(preview.text)})


def test_cancel_deletes_the_upload(client: TestClient, shop: tuple[Path, dict[Role, str]]) -> None:
    folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/upload")
    location = _upload(client, TWINS, name="twins.csv").headers["location"]
    name = location.split("/")[-1].split("?")[0]
    assert _incoming(folder) == [name]
    token = csrf_of(client.get(location).text)
    gone = client.post(f"/data/uploads/{name}/cancel", data={"csrf_token": token})
    assert gone.status_code == 200 and _incoming(folder) == []
    assert client.get(location).status_code == 404
    assert client.get("/data/uploads/..%2Fcible.toml?kind=customers").status_code == 404


def test_duplicates_are_proposed_by_a_job_merged_and_undone(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    _folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/duplicates")
    job = _wait(client, _import(client, TWINS, None, "twins.csv").headers["location"])
    assert job["result"]["loaded"] == 3

    page = client.get("/data/duplicates")
    assert page.status_code == 200 and "Find duplicates" in page.text
    found = client.post("/data/duplicates/find", data={"csrf_token": csrf_of(page.text)})
    assert found.url.path == "/data/duplicates"
    proposed = _wait(client, str(found.url))
    assert proposed["result"]["dry_run"] and proposed["result"]["merges"] == 1
    group = proposed["groups"][0]
    assert {p["customer_id"] for p in group["profiles"]} == {"T1", "T2"}
    assert group["match_rule"] == "deterministic-email"
    assert "Merge all 1 groups" in client.get(str(found.url)).text

    assert client.get("/data/duplicates.json").json()["merges"] == []  # a dry run merges nothing
    shown = client.get(str(found.url))
    merged = client.post("/data/duplicates/merge", data={"csrf_token": csrf_of(shown.text)})
    applied = _wait(client, str(merged.url))
    assert applied["result"]["merges"] == 1 and not applied["result"]["dry_run"]
    listed = client.get("/data/duplicates.json").json()["merges"]
    assert [(m["status"], sorted([m["surviving_id"], *m["merged_ids"]])) for m in listed] == [
        ("applied", ["T1", "T2"])
    ]
    merge_id = listed[0]["merge_id"]

    sign_in(client, secrets[Role.ANALYST], "/data/duplicates")
    analyst = client.get("/data/duplicates")
    assert "Undo" not in analyst.text and "Find duplicates" not in analyst.text
    refused = client.post(
        f"/data/merges/{merge_id}/undo", data={"csrf_token": csrf_of(analyst.text)}
    )
    assert refused.status_code == 403

    sign_in(client, secrets[Role.EDITOR], "/data/duplicates")
    page = client.get("/data/duplicates")
    undone = client.post(f"/data/merges/{merge_id}/undo", data={"csrf_token": csrf_of(page.text)})
    assert undone.status_code == 200
    assert client.get("/data/duplicates.json").json()["merges"][0]["status"] == "undone"
    again = client.post(f"/data/merges/{merge_id}/undo", data={"csrf_token": csrf_of(page.text)})
    assert again.status_code == 409 and "already undone" in again.text
    entries = _audited(client, secrets[Role.ADMIN])
    assert ("merge.undo", "ok") in entries and ("merge.undo", "failed") in entries
    assert ("dedupe.start", "ok") in entries


def test_an_audit_started_from_the_page_shows_its_score_and_top_problems(
    client: TestClient, shop: tuple[Path, dict[Role, str]]
) -> None:
    _folder, secrets = shop
    sign_in(client, secrets[Role.ANALYST], "/data")
    page = client.get("/data")
    started = client.post("/data/audit", data={"csrf_token": csrf_of(page.text)})
    job = _wait(client, str(started.url))
    assert job["state"] == "succeeded" and 0 <= job["result"]["score"] <= 100
    quality = client.get("/data.json").json()["quality"]
    assert quality["score"] == job["result"]["score"]
    assert quality["problems"] and {"label", "affected", "share", "points"} <= set(
        quality["problems"][0]
    )
    assert "Fixes that gain the most points" in client.get("/data").text


def test_the_duplicates_page_shows_only_a_dedupe_job_and_its_pager_keeps_it(
    client: TestClient, shop: tuple[Path, dict[Role, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _folder, secrets = shop
    sign_in(client, secrets[Role.EDITOR], "/data/duplicates")
    pairs = (
        b"customer_id,email,first_name,last_name\n"
        b"P1,pair1@example.com,Lise,Roux\nP2,pair1@example.com,Lise,Roux\n"
        b"P3,pair2@example.com,Marc,Petit\nP4,pair2@example.com,Marc,Petit\n"
    )
    imported = _import(client, pairs, None, "pairs.csv").headers["location"]
    page = client.get("/data")
    audit = str(client.post("/data/audit", data={"csrf_token": csrf_of(page.text)}).url)
    for other in (imported, audit):
        job_id = _wait(client, other)["job_id"]
        shown = client.get(f"/data/duplicates?job={job_id}")
        assert shown.status_code == 404 and "Duplicates found" not in shown.text
    assert client.get("/data/duplicates?job=999999").status_code == 404

    page = client.get("/data/duplicates")
    merged = client.post("/data/duplicates/merge", data={"csrf_token": csrf_of(page.text)})
    job_id = _wait(client, str(merged.url))["job_id"]
    monkeypatch.setattr(duplicates, "MERGES_PAGE", 1)
    shown = client.get(f"/data/duplicates?job={job_id}")
    assert shown.status_code == 200 and "Duplicates found" in shown.text
    assert f'href="?page=2&amp;job={job_id}"' in shown.text
    later = client.get(f"/data/duplicates?page=2&job={job_id}").text
    assert f'href="?page=1&amp;job={job_id}"' in later and "Duplicates found" in later
