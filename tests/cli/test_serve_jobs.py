"""The CLI against a served workspace prints what it prints locally: import, run, segments,
customers, dedupe; long work goes to the server as jobs.

Two identical workspaces: one served by a real `cible serve` (127.0.0.1), one not. Each
command runs on both, as a separate process, and the outputs are compared.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cible.access.roles import Role
from tests.cli.test_serve import CIBLE, cible, wait_for
from tests.server.conftest import make_workspace

pytestmark = pytest.mark.slow

MORE = "customer_id,email\nd,d@example.com\ne,not-an-email\n"
DEFINITION = "id: big\nname: Big\nwhere:\n  trait: monetary_value\n  op: '>='\n  value: 25\n"

WRITTEN_AT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+(\+00:00)?")


@dataclass
class Pair:
    served: Path
    local: Path
    url: str
    data: Path
    secrets: dict[Role, str]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    root = tmp_path_factory.mktemp("pair")
    secrets = make_workspace(root / "served")
    make_workspace(root / "local")
    data = root / "files"
    data.mkdir()
    (data / "more.csv").write_text(MORE)
    (data / "big.yaml").write_text(DEFINITION)
    shop = root / "served" / "shop"
    log = root / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CIBLE, "serve", "--host", "127.0.0.1", "--port", "0", "--workspace", str(shop)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
    try:
        wait_for(shop / "cible.serve.json", process, log)
        url = json.loads((shop / "cible.serve.json").read_text())["url"]
        yield Pair(shop, root / "local" / "shop", url, data, secrets)
    finally:
        process.terminate()
        process.wait(timeout=60)


def both(pair: Pair, *args: str) -> tuple[str, str]:
    """stdout of the command on the served workspace, then on the local one."""
    outputs = []
    for folder in (pair.served, pair.local):
        result = cible(*args, folder=folder)
        assert result.returncode == 0, f"{folder}: {result.stderr}"
        # Paths to the workspace and the moments rows were written (with microseconds,
        # unlike the runs' as_of) differ between the two; nothing else may.
        text = result.stdout.replace(str(folder), "WORKSPACE")
        outputs.append(WRITTEN_AT.sub("WRITTEN_AT", text))
    return outputs[0], outputs[1]


def test_import_goes_through_the_server_and_prints_the_same(pair: Pair):
    served, local = both(pair, "import", "customers", str(pair.data / "more.csv"))
    assert served == local and "more.csv -> customers: read 2" in served
    served, local = both(pair, "import", "customers", str(pair.data / "more.csv"), "--json")
    assert json.loads(served) == json.loads(local)
    # The import is in the served workspace's log, made by the local user as a job.
    admin = {"Authorization": f"Bearer {pair.secrets[Role.ADMIN]}"}
    entries = httpx.get(
        f"{pair.url}/api/audit", params={"action": "import.finish"}, headers=admin, timeout=30
    ).json()["entries"]
    assert [e["actor"] for e in entries] == ["cli", "cli"]


def test_run_and_segments_list_print_the_same(pair: Pair):
    served, local = both(pair, "run", "--as-of", "2025-02-01")
    # 5 customers after the import test, 3 where another worker ran it: the same both ways.
    assert served == local and re.match(r"Run 2 as of 2025-02-01 00:00: [35] customers", served)
    served, local = both(pair, "run", "--as-of", "2025-02-02", "--json")
    assert json.loads(served) == json.loads(local)
    served, local = both(pair, "segments", "list")
    assert served == local and "rfm-champions" in served


def test_customers_show_and_segments_preview_print_the_same(pair: Pair):
    served, local = both(pair, "customers", "show", "c")
    assert served == local and "=c@example.com" in served and "granted" in served
    served, local = both(pair, "customers", "show", "a", "--json")
    found = json.loads(served)
    assert found == json.loads(local) and found["memberships"] and found["traits"]
    served, local = both(pair, "segments", "preview", str(pair.data / "big.yaml"))
    # 3 customers, or 5 once the import test has run in this worker: either way the same.
    assert served == local and re.search(r"big: 2 of [35] customers", served)
    served, local = both(pair, "segments", "preview", str(pair.data / "big.yaml"), "--json")
    assert json.loads(served) == json.loads(local)


def test_a_missing_customer_is_one_sentence_both_ways(pair: Pair):
    for folder in (pair.served, pair.local):
        result = cible("customers", "show", "zz", folder=folder)
        assert result.returncode == 1 and "No customer 'zz'" in result.stderr


def test_dedupe_is_a_job_for_editors(pair: Pair):
    served, local = both(pair, "dedupe", "--dry-run", "--json")
    drop = lambda text: {k: v for k, v in json.loads(text).items() if k != "seconds"}  # noqa: E731
    assert drop(served) == drop(local)
    analyst = cible("dedupe", folder=pair.served, CIBLE_TOKEN=pair.secrets[Role.ANALYST])
    assert analyst.returncode == 1 and "editor role" in analyst.stderr


def test_a_strict_refusal_prints_the_same_counts(pair: Pair):
    faulty = pair.data / "faulty.csv"
    faulty.write_text("customer_id,email\n,nobody@example.com\nf,f@example.com\n")
    found = []
    for folder in (pair.served, pair.local):
        result = cible("import", "customers", str(faulty), "--strict", "--json", folder=folder)
        assert result.returncode == 1, f"{folder}: {result.stderr}"
        counts = json.loads(result.stdout)
        counts.pop("import_id")  # each workspace numbers its own imports
        found.append(counts)
    assert found[0] == found[1]
    assert found[0]["status"] == "refused" and found[0]["rejected"] == found[0]["read"] == 2
