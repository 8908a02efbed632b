"""One-click unsubscribe (RFC 8058): ``GET /u/{token}`` shows a button, ``POST`` withdraws.

The link is in every marketing e-mail (body and ``List-Unsubscribe`` header). There
is no login: the signed token is the proof (:mod:`cible.activation.unsubscribe`).
``GET`` only shows a page with a button (mail scanners follow links: a visit must
not unsubscribe anybody); ``POST`` with the body ``List-Unsubscribe=One-Click`` —
what a mail client's "unsubscribe" button sends, and what the page's button sends —
appends a ``withdrawn`` record to the consents ledger. The page speaks French and
English together: the reader's language is not known. Every attempt, refused ones
included, is in the audit log (actor ``unsubscribe``).
"""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from cible.activation.unsubscribe import MAX_TOKEN, read_token
from cible.domain.errors import CibleError
from cible.server.deps import State
from cible.workspace import Workspace

router = APIRouter(tags=["unsubscribe"])

Token = Annotated[str, Path(min_length=1, max_length=MAX_TOKEN)]
#: The actor the audit log names for unsubscribes (nobody logs in to unsubscribe).
ACTOR = "unsubscribe"

_PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;
line-height:1.5}}button{{font-size:1rem;padding:.6rem 1.2rem}}p[lang=en]{{color:#555}}</style>
</head><body>{body}</body></html>
"""

_ASK = """<h1>Se désinscrire · Unsubscribe</h1>
<p lang="fr">Vous ne recevrez plus nos e-mails marketing.</p>
<p lang="en">You will no longer receive our marketing e-mails.</p>
<form method="post" action="{action}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">Me désinscrire · Unsubscribe me</button>
</form>"""

_DONE = """<h1>C'est fait · Done</h1>
<p lang="fr">Votre désinscription est enregistrée.</p>
<p lang="en">You are unsubscribed.</p>"""

_INVALID = """<h1>Lien non valide · Invalid link</h1>
<p lang="fr">Ce lien de désinscription n'est pas valide. Utilisez le lien complet de l'e-mail.</p>
<p lang="en">This unsubscribe link is not valid. Use the whole link from the e-mail.</p>"""


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(title=escape(title), body=body), status_code=status)


@router.get("/u/{token}", response_class=HTMLResponse)
async def ask(state: State, token: Token) -> HTMLResponse:
    """A page with one button that unsubscribes (a visit alone changes nothing)."""
    valid = await state.db.call(lambda ws: _valid(ws, token))
    if not valid:
        return _page("Lien non valide · Invalid link", _INVALID, 400)
    return _page("Se désinscrire · Unsubscribe", _ASK.format(action=escape(token)))


@router.post("/u/{token}", response_class=HTMLResponse)
async def unsubscribe(request: Request, state: State, token: Token) -> HTMLResponse:
    """Withdraw the consent the token names; the body is ``List-Unsubscribe=One-Click``."""
    form = parse_qs((await request.body())[:1_000].decode("latin-1"))
    if form.get("List-Unsubscribe") != ["One-Click"]:
        await state.audit(ACTOR, "consent.unsubscribe", "token", "refused", {"reason": "body"})
        return _page(
            "Lien non valide · Invalid link",
            "<p>POST <code>List-Unsubscribe=One-Click</code> (RFC 8058).</p>",
            400,
        )
    try:
        await state.db.call(lambda ws: _withdraw(ws, token))
    except CibleError:
        return _page("Lien non valide · Invalid link", _INVALID, 400)
    return _page("C'est fait · Done", _DONE)


def _valid(ws: Workspace, token: str) -> bool:
    try:
        read_token(ws.store.signing_secret(), token)
    except CibleError:
        return False
    return True


def _withdraw(ws: Workspace, token: str) -> tuple[str, str]:
    """Unsubscribe and record it in the audit log, on the database thread."""
    try:
        customer_id, channel = ws.deliveries.unsubscribe(token)
    except CibleError as exc:
        ws.audit_log.record(ACTOR, "consent.unsubscribe", "token", "refused", {"reason": str(exc)})
        raise
    ws.audit_log.record(
        ACTOR, "consent.unsubscribe", f"customer:{customer_id}", "ok", {"channel": channel}
    )
    return customer_id, channel
