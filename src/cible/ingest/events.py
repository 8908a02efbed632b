"""``ws.events``: live messages appended to the workspace, deduplicated, identities linked.

:meth:`Events.append` takes checked messages (:mod:`cible.ingest.payloads`) and, in
one call:

1. gives each message its canonical ``events`` row, and a ``messageId`` derived from
   its content when it has none (:func:`~cible.ingest.payloads.content_message_id`);
2. leaves out duplicates: a message id seen earlier in the call, or received in the
   deduplication window (``[ingest] dedupe_window_days``, default 7);
3. updates the profiles of ``identify`` messages with a ``userId`` through the
   importer (:mod:`cible.ingest.profiles`): the same checks and normalisation as
   ``cible import customers``;
4. appends the new events and the anonymous ids linked by ``identify`` and ``alias``
   in one transaction; a new link attaches the earlier events of that anonymous id
   to the customer.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> from cible.ingest.payloads import Identify, Page
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     visit = Page(anonymousId="cookie-1", messageId="m1", name="Home")
...     first = ws.events.append([visit, visit])
...     signup = Identify(userId="c1", anonymousId="cookie-1", messageId="m2",
...                       traits={"email": "ANNE@Example.com "})
...     second = ws.events.append([signup])
...     customer = ws.table("customers").to_pyarrow().to_pylist()[0]
...     events = ws.table("events").order_by("message_id").to_pyarrow()
>>> (first.accepted, first.duplicates, second.attached)
(1, 1, 1)
>>> customer["email"], events.column("customer_id").to_pylist()
('anne@example.com', ['c1', 'c1'])
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
import pyarrow as pa

from cible.domain.clock import utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.registry import FieldRegistry
from cible.ingest.payloads import Alias, Identify, Message, content_message_id
from cible.ingest.profiles import ProfileUpdate, update_profiles
from cible.quality.normalisation import normalise_phone
from cible.store.events import EVENT_SCHEMA, IdentityLink
from cible.store.privacy import digest
from cible.store.store import Store


@dataclass(frozen=True)
class IngestResult:
    """What one :meth:`Events.append` did.

    Attributes
    ----------
    accepted : int
        Messages stored.
    duplicates : int
        Messages left out: their id was received already (in the window or the call).
    stored : tuple of bool
        Per message, in order: stored (True) or a duplicate (False).
    attached : int
        Earlier anonymous events that new identity links gave to a customer.
    profiles : ProfileUpdate
        What the ``identify`` traits did to the profiles (imports, rejected rows).
    triggered : int
        Stored events that start an automation (written to the outbox with them).
    suppressed : int
        Messages dropped, not stored: their customer, or the e-mail or phone of their
        traits, is on the suppression list (erased or suppressed; docs/privacy.md).
    """

    accepted: int
    duplicates: int
    stored: tuple[bool, ...]
    attached: int
    profiles: ProfileUpdate
    triggered: int = 0
    suppressed: int = 0


class Events:
    """Live events of a workspace (``ws.events``).

    Parameters
    ----------
    store : Store
        The workspace database.
    registry : FieldRegistry
        Tables and fields: which traits are customer fields.
    config : WorkspaceConfig
        ``[ingest]`` (the deduplication window) and the importer's settings.
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        *,
        triggers: Callable[[pa.Table], pa.Table] | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        # Given by the workspace: which new events start an automation (stored with them).
        self._triggers = triggers

    def names(self, limit: int = 100) -> list[str]:
        """Names of the ``track`` events held, most frequent first (for pickers).

        Written as a segment's event condition compares them: lower case, spaces as
        underscores (:func:`cible.segments.event_condition.normalise_event_name`).
        """
        events = self._store.table("events")
        named = events.filter(events.event.notnull()).mutate(
            name=events.event.lower().replace(" ", "_")
        )
        counted = named.group_by("name").aggregate(n=named.count())
        top = counted.order_by([counted.n.desc(), counted.name]).limit(limit)
        return [str(n) for n in top.name.to_pyarrow().to_pylist()]

    def append(
        self, messages: Sequence[Message], *, received_at: datetime | None = None
    ) -> IngestResult:
        """Store ``messages`` once each, durably; see the module's description.

        Parameters
        ----------
        messages : sequence of Message
            Checked messages, in the order received.
        received_at : datetime, optional
            When they arrived (naive UTC); default now.

        Returns
        -------
        IngestResult
            Counts, and per message whether it was stored.
        """
        now = received_at or utc_now()
        window_start = now - timedelta(days=self._config.ingest.dedupe_window_days)
        ids = [
            message.message_id or content_message_id(message, now, position)
            for position, message in enumerate(messages)
        ]
        known = self._store.known_event_ids(sorted(set(ids)), since=window_start)
        stored: list[bool] = []
        fresh: list[tuple[str, Message]] = []
        for message_id, message in zip(ids, messages, strict=True):
            new = message_id not in known
            stored.append(new)
            if new:
                known.add(message_id)  # a second copy in the same call is a duplicate
                fresh.append((message_id, message))
        # Suppressed and erased customers are not held again: their messages are dropped.
        dropped = suppressed_messages(self._store, fresh, self._config.quality.phone_region)
        if dropped:
            stored = [
                kept and message_id not in dropped
                for kept, message_id in zip(stored, ids, strict=True)
            ]
            fresh = [(message_id, m) for message_id, m in fresh if message_id not in dropped]
        # Profiles first: should the process die before the events are committed, the
        # client's retry finds no duplicate and imports the same traits again, which
        # leaves the profile unchanged.
        identifies = [
            (m, message_id) for message_id, m in fresh if isinstance(m, Identify) and m.user_id
        ]
        profiles = update_profiles(
            self._store,
            self._registry,
            self._config,
            [(m.user_id or "", m.traits, m.timestamp or now) for m, _ in identifies],
        )
        rows = _rows(fresh, now)
        matched = self._triggers(rows) if self._triggers is not None else None
        attached = self._store.append_events(
            rows, _links(fresh, now), window_start=window_start, matched=matched
        )
        accepted = len(fresh)
        return IngestResult(
            accepted=accepted,
            duplicates=len(messages) - accepted,
            stored=tuple(stored),
            attached=attached,
            profiles=profiles,
            triggered=0 if matched is None else matched.num_rows,
            suppressed=len(dropped),
        )


def suppressed_messages(
    store: Store, fresh: list[tuple[str, Message]], region: str = "FR"
) -> set[str]:
    """Ids of the messages about a suppressed customer, e-mail or phone.

    A message is about a suppressed customer when its ``userId`` is listed, or the
    stored profile of that id has a listed e-mail or phone, or the ``email`` or
    ``phone`` of its traits (``identify``, with or without ``userId``) is listed.
    """
    if not fresh or not store.has_suppressions():
        return set()
    salt = store.privacy_salt()
    users = store.suppressed_customers(sorted({m.user_id for _, m in fresh if m.user_id}))
    wanted: dict[str, dict[str, str]] = {"email": {}, "phone": {}}
    for message_id, message in fresh:
        if isinstance(message, Identify):
            for kind, found in wanted.items():
                value = message.traits.get(kind)
                if isinstance(value, str) and value.strip():
                    # As the importer stores it: a phone in E.164 form when it is valid.
                    if kind == "phone":
                        value = normalise_phone(value, region) or value
                    found[message_id] = digest(salt, kind, value)
    listed = {
        kind: store.suppressed_digests(kind, sorted(set(found.values())))
        for kind, found in wanted.items()
    }
    return {
        message_id
        for message_id, message in fresh
        if (message.user_id and message.user_id in users)
        or any(wanted[kind].get(message_id) in listed[kind] for kind in wanted)
    }


def _rows(fresh: list[tuple[str, Message]], now: datetime) -> pa.Table:
    """The ``events`` rows of ``fresh``, built column by column (rows of dicts cost 3x)."""
    messages = [message for _, message in fresh]
    columns = {
        "message_id": [message_id for message_id, _ in fresh],
        "customer_id": [m.user_id for m in messages],
        "anonymous_id": [m.anonymous_id for m in messages],
        "type": [m.type for m in messages],
        "event": [m.event_name for m in messages],
        "properties": [_json(m.payload) for m in messages],
        "timestamp": [m.timestamp or now for m in messages],
        "received_at": [now] * len(messages),
        "context": [_json(m.context) for m in messages],
    }
    return pa.Table.from_pydict(columns, schema=EVENT_SCHEMA)


def _json(value: object) -> str:
    # Payloads come from strict JSON (no NaN, no lone surrogate: payloads.py refuses
    # them), which orjson writes ten times faster than the standard library; it stops
    # at 254 levels of nesting, which the standard writer takes over.
    try:
        return orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def _links(fresh: list[tuple[str, Message]], now: datetime) -> list[IdentityLink]:
    """Anonymous ids linked to a customer: by identify (both ids) and alias (previousId)."""
    links = []
    for message_id, message in fresh:
        if message.user_id is None:
            continue
        if isinstance(message, Alias):
            anonymous = message.previous_id
        elif isinstance(message, Identify):
            anonymous = message.anonymous_id or ""
        else:
            continue
        if anonymous and anonymous != message.user_id:
            links.append(IdentityLink(anonymous, message.user_id, now, message_id, message.type))
    return links
