"""Server time of every web page and its JSON twin on 1,000,000 customers, against the API.

The workspace is the shop of ``bench_run.py`` (deterministic, hashed row numbers) at
1,000,000 customers with fewer orders and events than there (3M and 5M by default, so
that the build stays reasonable), imported with its five rule segments and run once
into ``--folder``, and reused while its recipe is unchanged. ``--workspace DIR`` times
an existing workspace instead (the demo, say), which must have had a run.

The pages are found, not listed: every GET route of the routers in
:data:`cible.server.web.AREAS`, so that pages added later are timed too. Path
parameters are filled with real ids read from the workspace (a rule segment, one of its
members, a tag, an automation, an import...); a route whose parameter has no value here
is reported under ``skipped``. Each page is timed with its JSON twin (the same path
with ``.json``) and, where one exists, the matching ``/api/`` route, which is the
obvious alternative for a program.

Requests run in-process (``fastapi.testclient.TestClient`` on ``create_app``, no
network), signed in through the sign-in form as an admin whose token may see contacts
(``unmask``), the API called with the same token. Each URL is requested once to warm
up, then ``--repeat`` times: the median and the 95th percentile (nearest rank) of the
wall time of those requests are reported, in milliseconds, with the time of the first
request (a persona card is drawn on the first view of a segment after a run, then
kept: see :mod:`cible.store.persona_cards`). The background sweep of the
server (every five minutes, it re-evaluates every customer) is switched off, so that it
does not land in the middle of a measurement. The token is revoked at the end.

Run: ``.venv/bin/python benchmarks/bench_web.py --folder /tmp/bench-1m`` (the first
time: generation, import and a run, about 15 minutes on 2 cores), or
``.venv/bin/python benchmarks/bench_web.py --workspace DIR``. DuckDB's progress bar is
switched off: stdout holds the JSON summary.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import inspect
import json
import math
import re
import shutil
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).parent))
import bench_run
from cible import Workspace
from cible.access.roles import Role
from cible.server import app as server_app
from cible.server.web import AREAS

#: The matching API route of a page, where there is one (same path parameters).
API = {
    "/overview": "/api/segments",
    "/segments": "/api/segments",
    "/segments/{segment_id}": "/api/segments/{segment_id}",
    "/segments/{segment_id}/export": "/api/exports/{segment_id}",
    "/customers/{customer_id}": "/api/customers/{customer_id}",
    "/tags": "/api/tags",
    "/tags/{name}": "/api/tags/{name}",
    "/automations": "/api/automations",
    "/automations/{automation_id}": "/api/automations/{automation_id}",
    "/admin/audit": "/api/audit",
    "/admin/tokens": "/api/tokens",
    "/data/jobs/{job_id}": "/api/jobs/{job_id}",
}
#: The query strings a page is timed with (each its own row); ``{name}`` is filled
#: like a path parameter. Others are timed without one.
QUERIES = {
    "/customers": ["q={customer_id}", "q=c12345@"],
    "/segments": ["", "q=value"],
    "/segments/{segment_id}": ["", "page=20"],
    "/data/uploads/{name}": ["kind=customers"],
}
#: Not pages: redirects, and the export, a download of every member (timed apart).
DOWNLOADS = {"/segments/{segment_id}/export"}


def prepare(folder: Path, customers: int, orders: int, events: int) -> tuple[Path, dict[str, Any]]:
    """The generated shop's workspace, imported and run once (reused when unchanged)."""
    recipe = inspect.getsource(bench_run.generate) + inspect.getsource(bench_run.load)
    recipe += inspect.getsource(furnish)
    recipe += repr((customers, orders, events, bench_run.AS_OF, bench_run.SEGMENTS))
    digest = hashlib.sha256(recipe.encode()).hexdigest()
    stamp = folder / "prepared-web.json"
    if not stamp.exists() or json.loads(stamp.read_text()).get("digest") != digest:
        shutil.rmtree(folder / "ws", ignore_errors=True)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        bench_run.generate(folder, customers, orders, events)
        generated = time.perf_counter() - started
        loaded = bench_run.load(folder)
        with Workspace.open(folder / "ws") as ws:
            bench_run._quiet(ws)
            started = time.perf_counter()
            ws.run(as_of=bench_run.AS_OF)
            ran = time.perf_counter() - started
            furnish(ws)
        built = {
            "digest": digest,
            "sizes": {"customers": customers, "orders": orders, "events": events},
            "generate_s": round(generated, 1),
            "import_s": round(sum(loaded["import_s"].values()), 1),
            "run_s": round(ran, 1),
        }
        stamp.write_text(json.dumps(built))
    built = json.loads(stamp.read_text())
    del built["digest"]
    return folder / "ws", built


def furnish(ws: Workspace) -> None:
    """What the other pages show: a clustering saved after the run (as a marketer
    would), a tag on 2,000 customers, a template and an automation using them."""
    ids = ws.table("customers").customer_id.to_pyarrow().to_pylist()[:2000]
    ws.tags.define("vip", description="Very important")
    ws.tags.define("greeted", description="Welcomed")
    ws.templates.add(
        {
            "id": "welcome",
            "name": {"en": "Welcome", "fr": "Bienvenue"},
            "subject": {"en": "Welcome"},
            "html": {"en": "<p>Welcome</p>"},
        },
        actor="bench",
    )
    ws.automations.add(
        {
            "id": "welcome-vip",
            "name": {"en": "Welcome VIPs", "fr": "Accueil des VIP"},
            "trigger": {"tag": "vip", "on": "added"},
            "steps": [{"email": {"template": "welcome"}}, {"add_tag": "greeted"}],
        },
        actor="bench",
    )
    ws.tags.apply("vip", ids, actor="bench")
    ws.cluster(random_state=0, n_bootstrap=3, k=5, dimension="behaviour")


# -- path parameters -------------------------------------------------------------------


def _first(ws: Workspace, sql: str) -> str | None:
    """The first value ``sql`` finds in the workspace, as text; None when there is none."""
    with contextlib.suppress(Exception):  # a table another version of Cible lacks
        rows = ws.store.connection.execute(sql).fetchall()
        return None if not rows or rows[0][0] is None else str(rows[0][0])
    return None


def parameters(ws: Workspace) -> dict[str, str | None]:
    """A real value for each path parameter the pages may have."""
    # A rule segment where there is one, else the largest segment.
    segment = _first(ws, "SELECT min(segment_id) FROM segments WHERE kind = 'rule'") or _first(
        ws,
        "SELECT segment_id FROM segment_memberships WHERE exited_at IS NULL "
        "GROUP BY segment_id ORDER BY count(*) DESC LIMIT 1",
    )
    member = _first(
        ws,
        "SELECT min(customer_id) FROM segment_memberships "
        f"WHERE exited_at IS NULL AND segment_id = '{segment}'",
    )
    tags = ws.tags.list()
    # An upload waiting for its preview: a small customers file in ``incoming/``, named
    # as the upload form names the copies it keeps.
    upload = "0123456789abcdef-bench-clients.csv"
    (ws.path / "incoming").mkdir(exist_ok=True)
    (ws.path / "incoming" / upload).write_text(
        "Identifiant client;Courriel;Prénom\nB1;b1@example.com;Anne\nB2;pas-un-mail;Luc\n"
    )
    return {
        "upload": upload,
        "segment_id": segment,
        "customer_id": member,
        "name": tags[0].name if tags else None,
        "dimension": "rfm",
        "automation_id": _first(ws, "SELECT min(automation_id) FROM automations"),
        "import_id": _first(ws, "SELECT min(import_id) FROM imports"),
        "job_id": None,  # jobs live in the server's memory: none before one is started
        "template_id": _first(ws, "SELECT min(template_id) FROM templates"),
        "campaign_id": _first(ws, "SELECT min(campaign_id) FROM campaigns"),
    }


def _fill(template: str, values: dict[str, str | None]) -> str | None:
    """``template`` with its ``{name}`` parameters filled; None when one has no value."""
    missing = False

    def value(match: re.Match[str]) -> str:
        nonlocal missing
        found = values.get(match.group(1))
        missing = missing or found is None
        return found or ""

    # The uploads' ``{name}`` is an upload's, not a tag's.
    if template.startswith("/data/uploads/"):
        template = template.replace("{name}", "{upload}")
    filled = re.sub(r"\{(\w+)\}", value, template)
    return None if missing else filled


def page_routes() -> list[str]:
    """The path of every GET page of the web UI, its twins (``.json``) left out."""
    paths = []
    for area in AREAS:
        for route in area.router.routes:
            if isinstance(route, APIRoute) and "GET" in route.methods:
                paths.append(route.path)
    return [p for p in paths if not p.endswith(".json")]


# -- timing ----------------------------------------------------------------------------


def _time(
    client: TestClient, url: str, repeat: int, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Median and 95th percentile (nearest rank) of ``repeat`` requests after a warm-up,
    and the time of that first request."""
    started = time.perf_counter()
    answer = client.get(url, headers=headers, follow_redirects=False)
    first = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        answer = client.get(url, headers=headers, follow_redirects=False)
        times.append((time.perf_counter() - started) * 1000)
    ordered = sorted(times)
    return {
        "url": url,
        "status": answer.status_code,
        "bytes": len(answer.content),
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(ordered[math.ceil(0.95 * len(ordered)) - 1], 1),
        "first_ms": round(first, 1),
    }


@asynccontextmanager
async def _no_sweep(database: Any) -> AsyncIterator[None]:
    """In place of the server's sweep: nothing runs in the background."""
    yield


def _sign_in(client: TestClient, secret: str) -> None:
    form = client.get("/sign-in")
    found = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert found, "the sign-in form has no CSRF token"
    answer = client.post(
        "/sign-in",
        data={"token": secret, "next": "/overview", "csrf_token": found.group(1)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def measure(path: Path, repeat: int, progress: Callable[[str], None]) -> dict[str, Any]:
    """Time every page of the workspace at ``path`` (see the module's description)."""
    with Workspace.open(path) as ws:
        values = parameters(ws)
        secret, token = ws.tokens.create("bench-web", Role.ADMIN, unmask=True)
        customers = int(ws.table("customers").count().execute())
    api_headers = {"Authorization": f"Bearer {secret}"}
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, str]] = []
    routes = page_routes()
    server_app.sweeping = _no_sweep  # type: ignore[assignment]
    try:
        with TestClient(server_app.create_app(path)) as client:
            _sign_in(client, secret)
            for template in routes:
                for query in QUERIES.get(template, [""]):
                    url = _fill(template, values)
                    if url is None:
                        skipped.append({"page": template, "why": "no value for its parameter"})
                        continue
                    suffix = _fill(query, values)
                    suffix = f"?{suffix}" if suffix else ""
                    progress(url + suffix)
                    row: dict[str, Any] = {"page": template + (f"?{query}" if query else "")}
                    row["html"] = _time(client, url + suffix, repeat)
                    if f"{template}.json" in _TWINS:
                        row["json"] = _time(client, f"{url}.json{suffix}", repeat)
                    if template in API:
                        api = _fill(API[template], values)
                        row["api"] = _time(client, f"{api}{suffix}", repeat, api_headers)
                    rows.append(row)
    finally:
        with Workspace.open(path) as ws:
            ws.tokens.revoke(token.token_id)
    pages = [r for r in rows if r["page"].split("?")[0] not in DOWNLOADS]
    timed = [
        (r["page"], kind, r[kind])
        for r in pages
        for kind in ("html", "json")
        if kind in r and r[kind]["status"] == 200
    ]
    slowest = max(timed, key=lambda t: t[2]["median_ms"])
    return {
        "customers": customers,
        "repeat": repeat,
        "pages": rows,
        "skipped": skipped,
        "failed": [(p, k, t["url"], t["status"]) for p, k, t in _all(rows) if t["status"] >= 400],
        "slowest_page": {"page": slowest[0], "kind": slowest[1], **slowest[2]},
        "target_every_page_under_300ms": all(t["median_ms"] < 300 for _, _, t in timed),
    }


def _all(rows: list[dict[str, Any]]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(r["page"], k, r[k]) for r in rows for k in ("html", "json", "api") if k in r]


_TWINS = {
    route.path
    for area in AREAS
    for route in area.router.routes
    if isinstance(route, APIRoute) and route.path.endswith(".json")
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=3_000_000)
    parser.add_argument("--events", type=int, default=5_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--folder", type=Path, help="build (once) and keep the workspace here")
    where.add_argument("--workspace", type=Path, help="time this workspace instead")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    built: dict[str, Any] = {}
    if args.folder is not None:
        path, built = prepare(args.folder, args.customers, args.orders, args.events)
    else:
        path = args.workspace
    summary = {"build": built, **measure(path, args.repeat, lambda u: print(u, file=sys.stderr))}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
