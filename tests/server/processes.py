"""Real `cible serve` processes for tests: start one on 127.0.0.1, wait for things."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.activation.receivers import SECRET, SECRET_ENV

CIBLE = [str(Path(sys.executable).parent / "cible")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(shop: Path, log: Path, port: int = 0) -> tuple[subprocess.Popen[bytes], str]:
    """A `cible serve` process on 127.0.0.1, and its URL once it listens."""
    served = shop / "cible.serve.json"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [*CIBLE, "serve", "--host", "127.0.0.1", "--port", str(port), "--workspace", str(shop)],
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LANG": "C.UTF-8", SECRET_ENV: SECRET},
        )
    deadline = time.monotonic() + 60
    while True:
        if served.exists():
            found = json.loads(served.read_text())
            if found["pid"] == process.pid:
                return process, str(found["url"])
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "the server did not start in 60 s"
        time.sleep(0.05)


@contextmanager
def serving(shop: Path, log: Path, port: int = 0) -> Iterator[str]:
    process, url = start(shop, log, port)
    try:
        yield url
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def wait_for(condition: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline, f"{what}: not within {seconds} s"
        time.sleep(0.05)
    return found
