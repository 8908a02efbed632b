"""``GET /api/exports/{segment}``: a segment's audience as CSV, JSON lines or Parquet.

Through ``ws.exports`` (:mod:`cible.activation.export`): with a channel, only members
whose marketing consent for it is granted and who have a valid contact value; with an
ad platform (``platform=google-ads`` or ``meta``), the members consenting to ``ads`` as
hashed e-mails and phones under the platform's column names; with neither, an
analysis export with no contact field. CSV cells a spreadsheet would run as a
formula are neutralised. Every export, refused or not, is in the audit log, with
``contacts`` in its detail saying what the file held: ``clear`` e-mails or phones,
``hashed`` ones (ad platforms) or ``none``.

A channel export whose file carries e-mails or phones (``email``, ``sms``, ``phone``)
needs a principal who reads them in clear (:mod:`cible.access.masking`): an editor, an
admin, or a viewer or analyst whose token has the ``unmask`` grant. Masked addresses
would be useless to the tool the file is for, and a file leaves the audit trail's
reach once downloaded, so the export is refused (403) rather than masked
(docs/privacy.md, "Masking by role").
"""

from __future__ import annotations

import io
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response

from cible.access.masking import CONTACT_FIELDS, sees_contacts
from cible.activation.ad_platforms import AdPlatform
from cible.activation.export import CONTACT_FIELDS as CHANNEL_FIELDS
from cible.activation.export import PURPOSE
from cible.activation.formats import ExportFormat, write
from cible.domain.errors import CibleError
from cible.domain.schema import CHANNELS, PURPOSES
from cible.server.deps import Analyst, State
from cible.workspace import Workspace

router = APIRouter(prefix="/exports", tags=["exports"])


class Format(StrEnum):
    """Formats an export is served in."""

    CSV = "csv"
    JSONL = "jsonl"
    PARQUET = "parquet"


_MEDIA = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.JSONL: "application/x-ndjson",
    Format.PARQUET: "application/vnd.apache.parquet",
}

Channel = StrEnum("Channel", {c.upper(): c for c in CHANNELS})  # type: ignore[misc]
Purpose = StrEnum("Purpose", {p.upper(): p for p in PURPOSES})  # type: ignore[misc]
Platform = StrEnum(  # type: ignore[misc]
    "Platform", {p.name: p.value for p in AdPlatform}
)


@router.get("/{segment_id}", response_class=Response)
async def export(
    state: State,
    principal: Analyst,
    segment_id: Annotated[str, Path(min_length=1, max_length=200)],
    channel: Annotated[Channel | None, Query(description="Channel; none: analysis.")] = None,
    purpose: Annotated[Purpose, Query(description="Consent purpose checked.")] = Purpose(PURPOSE),
    format: Annotated[Format, Query()] = Format.CSV,
    platform: Annotated[
        Platform | None,
        Query(
            description="An ad platform's hashed customer list (channel ads): SHA-256 of "
            "the normalised e-mail and phone under the platform's column names."
        ),
    ] = None,
) -> Response:
    """The segment's members for a channel (consent-aware), an ad platform, or analysis."""
    chosen = None if channel is None else str(channel.value)
    detail = {"channel": chosen, "purpose": str(purpose.value), "format": format.value}
    if platform is not None:
        detail |= {"channel": "ads", "platform": str(platform.value)}
    clear = platform is None and bool(CONTACT_FIELDS & set(CHANNEL_FIELDS.get(chosen or "", ())))
    detail["contacts"] = "hashed" if platform is not None else "clear" if clear else "none"
    if clear and not sees_contacts(principal):
        reason = (
            f"A {chosen} export holds e-mails or phones in clear: it needs an editor, an "
            "admin, or a token created with --unmask."
        )
        await state.audit(
            principal, "export", f"segment:{segment_id}", "refused", {**detail, "reason": reason}
        )
        raise HTTPException(403, detail=reason)

    def build(ws: Workspace) -> tuple[bytes, dict[str, object]]:
        if purpose.value != PURPOSE:
            raise CibleError(
                f"Exports check consent for the {PURPOSE} purpose; {purpose.value!r} is not "
                "one an export can be made for."
            )
        if platform is not None and chosen not in (None, "ads"):
            raise CibleError(
                f"platform {platform.value} exports for the ads channel, not {chosen!r}."
            )
        audience = (
            ws.exports.audience(segment_id, chosen)
            if platform is None
            else ws.exports.ad_audience(segment_id, str(platform.value))
        )
        buffer = io.BytesIO()
        write(audience.table, buffer, ExportFormat(format.value))
        return buffer.getvalue(), audience.summary()

    body, summary = await state.change(
        principal,
        "export",
        f"segment:{segment_id}",
        build,
        lambda result: {**detail, **result[1]},
    )
    suffix = format.value
    return Response(
        body,
        media_type=_MEDIA[format],
        headers={
            "Content-Disposition": f'attachment; filename="{_safe(segment_id)}.{suffix}"',
            "X-Cible-Members": str(summary["members"]),
            "X-Cible-Exported": str(summary["exported"]),
        },
    )


def _safe(name: str) -> str:
    """A file name for the header: letters, digits, ``-`` and ``_`` only."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_") else "_" for c in name)
