"""Uploading a data file: the form, the preview with its column mapping, the import.

The file is streamed into the workspace's ``incoming/`` folder
(:mod:`cible.server.web.uploads`), previewed as the import will read it
(``ws.imports.preview``), then imported as a job exactly as ``POST /api/imports`` does
(same options, rights and audit; the copy is deleted once read). Editors and admins
only: imports change profiles and consents.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from cible.access.roles import Role
from cible.domain.errors import CibleError
from cible.domain.schema import IMPORT_KINDS
from cible.importing.preview import Preview
from cible.server.deps import server_state
from cible.server.routes.jobs import ImportCreate, start_import
from cible.server.served import incoming_file
from cible.server.web.access import (
    Signed,
    Visitor,
    page,
    reader,
    refuse_role,
    requiring,
    sessions_of,
)
from cible.server.web.sessions import CSRF_FIELD, CSRF_HEADER
from cible.server.web.uploads import (
    MAX_UPLOAD_BYTES,
    UPLOAD_NAME,
    UploadError,
    discard,
    receive_upload,
    shown_name,
)
from cible.workspace import Workspace

router = APIRouter(include_in_schema=False)

EditorReader = Annotated[Visitor, Depends(reader(Role.EDITOR))]
Editor = Annotated[Visitor, Depends(requiring(Role.EDITOR))]
UploadName = Annotated[str, Path(pattern=f"^{UPLOAD_NAME}$")]
#: The kinds of file the form offers, as ``cible import`` names them.
KINDS = tuple(IMPORT_KINDS)


def _form(request: Request, who: Visitor, error: UploadError | None = None) -> HTMLResponse:
    response = page(
        request,
        who,
        "data_upload.html.j2",
        kinds=KINDS,
        limit_mib=MAX_UPLOAD_BYTES // (1024 * 1024),
        limit=MAX_UPLOAD_BYTES,
        error=error,
    )
    if error is not None:
        response.status_code = error.status
    return response


@router.get("/data/upload")
async def upload_form(request: Request, who: EditorReader) -> HTMLResponse:
    """The upload form: the kind of file, and the file."""
    return _form(request, who)


@router.post("/data/upload", response_model=None)
async def upload(request: Request, who: Signed) -> HTMLResponse | RedirectResponse:
    """Receive the file into ``incoming/``, then show its preview.

    The role is checked before the body is read, the CSRF token (a form field before
    the file, or the header) once it is; a refused upload leaves no file behind.
    """
    await refuse_role(request, who, Role.EDITOR)
    state = server_state(request)
    folder = state.db.path
    try:
        received = await receive_upload(request, folder)
    except UploadError as refusal:
        detail = {"status": refusal.status, "reason": str(refusal)}
        await state.audit(who.principal, "import.upload", "", "refused", detail)
        return _form(request, who, refusal)
    given = request.headers.get(CSRF_HEADER) or received.fields.get(CSRF_FIELD)
    if not sessions_of(request).valid_csrf(who.session, given):
        discard(folder, received.name)
        await state.audit(who.principal, "auth", "POST /data/upload", "refused", {"reason": "csrf"})
        return _form(request, who, UploadError(403, "This form has expired: reload the page."))
    kind = received.fields.get("kind", "")
    if kind not in KINDS:
        discard(folder, received.name)
        return _form(request, who, UploadError(422, f"Unknown kind {kind!r}."))
    detail = {"file": received.filename, "bytes": received.size, "kind": kind}
    await state.audit(who.principal, "import.upload", f"upload:{received.name}", "ok", detail)
    return RedirectResponse(f"/data/uploads/{received.name}?kind={kind}", status_code=303)


def _mapping(columns: list[str], fields: list[str]) -> dict[str, str]:
    """Field -> column from the form's select per column (empty: not imported)."""
    chosen: dict[str, str] = {}
    for column, field in zip(columns, fields, strict=False):
        if not field:
            continue
        if field in chosen:
            both = f"{chosen[field]!r} and {column!r}"
            raise CibleError(f"Columns {both} are both mapped to {field}: choose one.")
        chosen[field] = column
    return chosen


async def _preview(
    request: Request, who: Visitor, name: str, kind: str, chosen: dict[str, str] | None
) -> dict[str, Any]:
    """The preview of ``chosen`` (None: as the import would match the columns itself).

    The form lists every column of the file, so a field none was chosen for is left out
    (mapped to None) rather than matched again by name: "not imported" is obeyed.
    """
    state = server_state(request)
    path = incoming_file(state.db.path, name)

    def read(ws: Workspace) -> Preview:
        mapping: dict[str, str | None] = {}
        if chosen is not None:
            mapping = {**dict.fromkeys(ws.registry.table_for_kind(kind).names), **chosen}
        return ws.imports.preview(kind, path, mapping=mapping, shown_as=shown_name(name))

    found = await state.db.call(read)
    return found.as_dict()


def _preview_page(
    request: Request,
    who: Visitor,
    name: str,
    kind: str,
    preview: dict[str, Any] | None,
    error: str | None,
    status: int = 200,
) -> HTMLResponse:
    response = page(
        request,
        who,
        "data_preview.html.j2",
        name=name,
        file=shown_name(name),
        kind=kind,
        preview=preview,
        error=error,
        partial=request.headers.get("hx-request") == "true",
    )
    response.status_code = status
    return response


def _refused(refusal: ValidationError) -> str:
    """The import's options refused as ``POST /api/imports`` would, in one sentence."""
    reasons = "; ".join(
        f"{'.'.join(str(part) for part in error['loc'][:2])}: {error['msg']}"
        for error in refusal.errors()
    )
    return f"The import cannot start: {reasons}."


async def _gone(request: Request, who: Visitor, name: str) -> HTMLResponse | None:
    """The page saying an upload is no longer there (imported or cancelled), or None."""
    try:
        incoming_file(server_state(request).db.path, name)
    except CibleError:
        response = page(request, who, "not_found.html.j2", what=shown_name(name))
        response.status_code = 404
        return response
    return None


@router.get("/data/uploads/{name}")
async def preview(request: Request, who: EditorReader, name: UploadName) -> HTMLResponse:
    """The first rows as read, what was detected, and a select per column to map it.

    ``?column=...&field=...`` (repeated, in the file's order) previews a mapping.
    """
    gone = await _gone(request, who, name)
    if gone is not None:
        return gone
    kind = request.query_params.get("kind", "")
    params = request.query_params
    columns = params.getlist("column")
    try:
        chosen = _mapping(columns, params.getlist("field")) if columns else None
        found = await _preview(request, who, name, kind, chosen)
    except CibleError as refusal:
        return _preview_page(request, who, name, kind, None, str(refusal), 422)
    return _preview_page(request, who, name, kind, found, None)


@router.post("/data/uploads/{name}/import", response_model=None)
async def start(request: Request, who: Editor, name: UploadName) -> HTMLResponse | RedirectResponse:
    """Import the upload with the mapping chosen, as a job (``POST /api/imports``)."""
    gone = await _gone(request, who, name)
    if gone is not None:
        return gone
    form = await request.form()
    kind = str(form.get("kind", ""))
    columns = [str(c) for c in form.getlist("column")]
    try:
        chosen = _mapping(columns, [str(f) for f in form.getlist("field")]) if columns else None
        found = await _preview(request, who, name, kind, chosen)
    except CibleError as refusal:
        return _preview_page(request, who, name, kind, None, str(refusal), 422)
    if found["missing"]:
        # The page says which required fields still need a column.
        return _preview_page(request, who, name, kind, found, None, 422)
    # Exactly what the preview showed: every field without a column is left out.
    mapping = {**dict.fromkeys(found["fields"]), **found["mapping"]}
    try:
        file = ImportCreate(kind=kind, path=name, shown_as=shown_name(name), mapping=mapping)
    except ValidationError as refusal:
        return _preview_page(request, who, name, kind, found, _refused(refusal), 422)
    started = await start_import(server_state(request), who.principal, Response(), file)
    return RedirectResponse(f"/data/jobs/{started['job']['job_id']}", status_code=303)


@router.post("/data/uploads/{name}/cancel")
async def cancel(request: Request, who: Editor, name: UploadName) -> RedirectResponse:
    """Delete the uploaded copy without importing it."""
    state = server_state(request)
    discard(state.db.path, name)
    await state.audit(who.principal, "import.cancel", f"upload:{name}", "ok", {})
    return RedirectResponse("/data", status_code=303)
