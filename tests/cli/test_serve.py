"""`cible serve` as a real process: the served file, the API, the CLI through it, SIGTERM.

One server is started for the module (127.0.0.1, a free port chosen by the system).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from cible.access.roles import Role
from cible.server.served import read_served
from tests.server.conftest import make_workspace

# The installed `cible` script, beside this interpreter.
CIBLE = [str(Path(sys.executable).parent / "cible")]
pytestmark = pytest.mark.slow


@dataclass
class Running:
    process: subprocess.Popen[bytes]
    folder: Path
    url: str
    secrets: dict[Role, str]


def cible(*args: str, folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "LANG": "C.UTF-8", "COLUMNS": "200", **env}
    if "CIBLE_TOKEN" not in env:
        environment.pop("CIBLE_TOKEN", None)
    return subprocess.run(
        [*CIBLE, *args, "--workspace", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
        check=False,
    )


def wait_for(path: Path, process: subprocess.Popen[bytes], log: Path, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"cible serve exited {process.returncode}: {log.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear in {seconds} s")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    folder = tmp_path_factory.mktemp("serve") / "data"
    secrets = make_workspace(folder)
    shop = folder / "shop"
    log = folder / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CIBLE, "serve", "--host", "127.0.0.1", "--port", "0", "--workspace", str(shop)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
    try:
        wait_for(shop / "cible.serve.json", process, log)
        served = json.loads((shop / "cible.serve.json").read_text())
        yield Running(process, shop, served["url"], secrets)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_served_file_names_the_process_and_a_loopback_url(running: Running):
    served = json.loads((running.folder / "cible.serve.json").read_text())
    assert served["pid"] == running.process.pid
    assert served["url"].startswith("http://127.0.0.1:")
    token_file = running.folder / "cible.serve.token"
    assert oct(token_file.stat().st_mode & 0o777) == oct(0o600)


def test_the_api_answers_over_http(running: Running):
    header = {"Authorization": f"Bearer {running.secrets[Role.VIEWER]}"}
    answer = httpx.get(f"{running.url}/api/status", headers=header, timeout=30)
    assert answer.status_code == 200 and answer.json()["counts"]["customers"] == 3
    assert httpx.get(f"{running.url}/api/status", timeout=30).status_code == 401


def test_cli_status_goes_through_the_server_with_the_same_output(running: Running):
    result = cible("status", "--json", folder=running.folder)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout)
    assert found["counts"]["customers"] == 3 and found["schema_version"] >= 7
    table = cible("status", folder=running.folder)
    assert table.returncode == 0 and "customers" in table.stdout and "orders.csv" in table.stdout


def test_cli_segments_list_and_tokens_go_through_the_server(running: Running):
    segments = cible("segments", "list", "--json", folder=running.folder)
    assert segments.returncode == 0, segments.stderr
    assert "lifecycle-new" in {s["id"] for s in json.loads(segments.stdout)}
    created = cible(
        "tokens", "create", "via-api", "--role", "analyst", "--json", folder=running.folder
    )
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)
    header = {"Authorization": f"Bearer {token['token']}"}
    assert httpx.get(f"{running.url}/api/segments", headers=header, timeout=30).status_code == 200
    revoked = cible("tokens", "revoke", str(token["token_id"]), folder=running.folder)
    assert revoked.returncode == 0 and "Revoked token" in revoked.stdout
    assert httpx.get(f"{running.url}/api/segments", headers=header, timeout=30).status_code == 401
    # The local user is the actor `cli` in the audit log.
    admin = {"Authorization": f"Bearer {running.secrets[Role.ADMIN]}"}
    entries = httpx.get(
        f"{running.url}/api/audit?action=token.revoke", headers=admin, timeout=30
    ).json()["entries"]
    assert entries[0]["actor"] == "cli"


def test_a_viewer_token_from_the_environment_cannot_manage_tokens(running: Running):
    result = cible(
        "tokens", "list", folder=running.folder, CIBLE_TOKEN=running.secrets[Role.VIEWER]
    )
    assert result.returncode == 1
    assert "403" in result.stderr and "admin role" in result.stderr


def test_other_commands_say_the_workspace_is_served_and_where(running: Running):
    result = cible("rejects", folder=running.folder)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "is served by `cible serve` at " + running.url in lines[0]
    assert cible("segments", "show", "rfm-champions", folder=running.folder).returncode == 1


def test_zz_sigterm_stops_it_cleanly_and_removes_the_file(running: Running):
    # Runs last in this module (pytest keeps file order): it stops the shared server.
    running.process.send_signal(signal.SIGTERM)
    assert running.process.wait(timeout=60) == 0
    assert not (running.folder / "cible.serve.json").exists()
    assert not (running.folder / "cible.serve.token").exists()
    after = cible("status", "--json", folder=running.folder)
    assert after.returncode == 0 and json.loads(after.stdout)["counts"]["customers"] == 3


def test_a_stale_served_file_is_replaced_and_ctrl_c_exits_cleanly(tmp_path: Path):
    make_workspace(tmp_path / "data")
    shop = tmp_path / "data" / "shop"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = {"url": "http://127.0.0.1:9", "pid": dead.pid, "started_at": "2025-01-01T00:00:00"}
    (shop / "cible.serve.json").write_text(json.dumps(stale))
    refused = cible("status", folder=shop)
    assert refused.returncode == 0  # a stale file is no server: the CLI works locally
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*CIBLE, "serve", "--port", "0", "--workspace", str(shop)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANG": "C.UTF-8"},
        )
    try:
        deadline = time.monotonic() + 60
        while getattr(read_served(shop), "pid", None) != process.pid:
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "Replaced a stale cible.serve.json" in log.read_text()
    assert not (shop / "cible.serve.json").exists()
