"""Tokens: shown once, stored as digests, roles ordered, revoked ones refused, all audited."""

from __future__ import annotations

import hashlib

import pytest

from cible import Workspace
from cible.access.roles import LOCAL_USER, Principal, Role
from cible.access.tokens import Keyring, digest
from cible.domain.errors import CibleError


def test_secret_is_shown_once_and_only_its_digest_is_stored(workspace: Workspace):
    secret, created = workspace.tokens.create("dashboard", "viewer")
    assert secret.startswith("cible_") and len(secret) == len("cible_") + 43
    stored = workspace.store.connection.execute("SELECT * FROM api_tokens").fetchall()
    assert all(secret not in str(value) for row in stored for value in row)
    assert [row.digest for row in workspace.store.list_tokens()] == [
        hashlib.sha256(secret.encode()).hexdigest()
    ]
    assert created.role is Role.VIEWER and created.live
    assert workspace.tokens.authenticate(secret) == Principal(
        "dashboard", Role.VIEWER, created.token_id
    )


def test_two_tokens_differ_and_each_finds_its_owner(workspace: Workspace):
    one, first = workspace.tokens.create("one", "admin")
    two, second = workspace.tokens.create("two", Role.INGEST)
    assert one != two
    ring = workspace.tokens.keyring()
    assert ring.authenticate(one).token_id == first.token_id
    assert ring.authenticate(two) == Principal("two", Role.INGEST, second.token_id)
    assert ring.authenticate(one[:-1] + ("A" if one[-1] != "A" else "B")) is None
    assert ring.authenticate("not a token") is None


def test_revoked_token_is_refused_and_kept_in_the_list(workspace: Workspace):
    secret, created = workspace.tokens.create("ci", "analyst")
    revoked = workspace.tokens.revoke(created.token_id)
    assert not revoked.live
    assert workspace.tokens.authenticate(secret) is None
    assert [t.token_id for t in workspace.tokens.list()] == [created.token_id]
    with pytest.raises(CibleError, match="No live token with id"):
        workspace.tokens.revoke(created.token_id)


def test_every_token_change_and_attempt_is_in_the_audit_log(workspace: Workspace):
    _, created = workspace.tokens.create("ci", "editor")
    workspace.tokens.revoke(created.token_id, actor=Principal("boss", Role.ADMIN))
    with pytest.raises(CibleError, match="No live token"):
        workspace.tokens.revoke(99)
    with pytest.raises(CibleError, match="Unknown role 'root'"):
        workspace.tokens.create("x", "root")
    with pytest.raises(CibleError, match="Token name"):
        workspace.tokens.create("\x1b[31m", "viewer")
    entries = [
        (e.actor, e.action, e.target, e.outcome) for e in reversed(workspace.audit_log.entries())
    ]
    assert entries == [
        ("cli", "token.create", f"token:{created.token_id}", "ok"),
        ("boss", "token.revoke", f"token:{created.token_id}", "ok"),
        ("cli", "token.revoke", "token:99", "refused"),
        ("cli", "token.create", "", "failed"),
        ("cli", "token.create", "", "failed"),
    ]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, {Role.VIEWER}),
        (Role.ANALYST, {Role.VIEWER, Role.ANALYST}),
        (Role.EDITOR, {Role.VIEWER, Role.ANALYST, Role.EDITOR}),
        (Role.ADMIN, {Role.VIEWER, Role.ANALYST, Role.EDITOR, Role.ADMIN}),
        (Role.INGEST, {Role.INGEST}),
    ],
)
def test_roles_are_ordered_and_ingest_stands_apart(role: Role, allowed: set[Role]):
    principal = Principal("x", role)
    assert {required for required in Role if principal.may(required)} == allowed


def test_keyring_knows_process_secrets_without_storing_them():
    ring = Keyring([], extra=[("cible_local", LOCAL_USER)])
    assert ring.authenticate("cible_local") is LOCAL_USER
    assert ring.authenticate("cible_locall") is None
    assert digest("cible_local") != digest("cible_locall")
