"""Definition files (automations, campaigns): read, check and save, locally or served.

Both kinds are YAML or JSON files checked against the workspace, sent to the server
as JSON when it runs; errors name the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from cible.cli.remote import connect, open_workspace
from cible.domain.errors import CibleError
from cible.workspace import Workspace


def read_definition(path: Path) -> Any:
    """The YAML or JSON of ``path`` as JSON values (a YAML date becomes its ISO text,
    as the API would receive it)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CibleError(f"{path}: cannot be read as UTF-8 text ({exc}).") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CibleError(f"{path}: not valid YAML or JSON ({exc}).") from None
    return json.loads(json.dumps(data, default=_iso))


def _iso(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise CibleError(f"A value of type {type(value).__name__} cannot be read as JSON.")


def named(path: Path, work: Callable[[], Any]) -> Any:
    """``work()``, its CibleError prefixed with the file's path."""
    try:
        return work()
    except CibleError as exc:
        raise CibleError(f"{path}: {exc}") from None


def check_definition(
    path: Path, workspace: Path, *, resource: str, validate: Callable[[Workspace, Any], Any]
) -> dict[str, Any]:
    """The checked definition of ``path``: ``validate(ws, data)`` locally, or ``POST
    /api/{resource}/validate`` on a served workspace."""
    data = read_definition(path)
    remote = connect(workspace)
    if remote is not None:
        return dict(
            named(path, lambda: remote.request("POST", f"/api/{resource}/validate", json=data))[
                "definition"
            ]
        )
    with open_workspace(workspace, read_only=True) as ws:
        return dict(named(path, lambda: validate(ws, data)).to_dict())


def save_definition(
    path: Path,
    workspace: Path,
    *,
    resource: str,
    kind: str,
    add: Callable[[Workspace, Any], dict[str, Any]],
) -> dict[str, Any]:
    """Add or replace the definition of ``path``: ``add(ws, data)`` locally (audited as
    ``{kind}.save``), or ``PUT /api/{resource}/{id}`` on a served workspace."""
    data = read_definition(path)
    remote = connect(workspace)
    if remote is not None:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str):
            raise CibleError(f"{path}: a {kind} needs an id.")
        return dict(
            named(path, lambda: remote.request("PUT", f"/api/{resource}/{data['id']}", json=data))
        )
    with open_workspace(workspace) as ws:
        target = f"{kind}:{data.get('id') if isinstance(data, dict) else '?'}"
        return dict(
            named(
                path,
                lambda: ws.audit_log.change(
                    "cli",
                    f"{kind}.save",
                    target,
                    lambda: add(ws, data),
                    lambda saved: {"version": saved["version"]},
                ),
            )
        )
