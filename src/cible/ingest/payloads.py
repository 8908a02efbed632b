"""Segment's HTTP Tracking API messages, checked with pydantic.

The seven endpoints (``identify``, ``track``, ``page``, ``screen``, ``group``,
``alias``, ``batch``) receive the messages modelled here. Fields Cible does not use
are tolerated and kept, as Segment does (``integrations``, ``sentAt``, anything
new); the fields it uses are checked: a user id or an anonymous id (at least one),
an event name for ``track``, a group id for ``group``, a previous id for ``alias``,
objects for ``properties``, ``traits`` and ``context``, an ISO 8601 ``timestamp``.
Sizes follow Segment: 32 KB per message, 500 KB per batch. A request that breaks
any rule is refused whole (:class:`PayloadError`, one sentence naming the field):
nothing of it is stored.

Examples
--------
>>> request = parse_request("track", b'{"userId": "c1", "event": "Order Completed"}')
>>> message = request.messages[0]
>>> (message.type, message.user_id, message.event)
('track', 'c1', 'Order Completed')
>>> parse_request("track", b'{"event": "Order Completed"}')
Traceback (most recent call last):
...
cible.ingest.payloads.PayloadError: userId or anonymousId: give at least one of them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal, cast

import orjson
import pydantic
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from cible.domain.errors import CibleError

#: Largest message, serialised (Segment's limit, per call and per message of a batch).
MAX_MESSAGE_BYTES = 32 * 1024
#: Largest ``/v1/batch`` body (Segment's limit).
MAX_BATCH_BYTES = 500 * 1024
#: Longest id (user, anonymous, message, group) and event name: longer is a mistake.
MAX_ID_CHARS = 1024
#: The message types, one endpoint each.
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")
#: Fields of a message that are about its delivery, not its content: they change when
#: a client retries, so a messageId derived from the content leaves them out.
#: A JSON escape of a UTF-16 surrogate: valid only as the first or second half of a pair.
_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")
_DELIVERY_FIELDS = frozenset({"sentAt", "writeKey", "receivedAt", "messageId"})
#: Digits to ``0``, every other byte to a space: a run of 19 zeros in a body so
#: translated is a number orjson may read as a float (it keeps 64 bits of an integer,
#: the standard reader keeps all its digits). Ten times faster than a regex.
_DIGITS = bytes(ord("0") if chr(b).isdigit() and b < 128 else ord(" ") for b in range(256))
_LONG_NUMBER = b"0" * 19
#: ``json.dumps`` writes a message at most this many times longer than orjson's compact
#: form (a space after each separator, ``1e+16`` for ``1e16``): below it, the size of a
#: message is certainly within the limit without writing it the slow way.
_COMPACT_FACTOR = 3


class PayloadError(CibleError):
    """A request Cible refuses whole; the message names the field and the reason.

    ``status`` is the HTTP status to answer with: 400, as Segment answers for sizes
    and malformed messages alike.
    """

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _identifier(value: Any) -> Any:
    """Ids are strings; numbers are read as their text (clients send both), not booleans."""
    if isinstance(value, bool):
        raise ValueError("must be a string, not true or false")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        value = value.strip()
        if len(value) > MAX_ID_CHARS:
            raise ValueError(f"longer than {MAX_ID_CHARS} characters")
        return value or None  # an empty id is no id, as Segment reads it
    return value


def _required_identifier(value: Any) -> Any:
    value = _identifier(value)
    if value is None:
        raise ValueError("must be a non-empty string")
    return value


#: An id that must be given (``groupId``, ``previousId``).
RequiredIdentifier = Annotated[str, BeforeValidator(_required_identifier)]
#: An optional id; an empty one is none. Both are at most MAX_ID_CHARS long.
Identifier = Annotated[str | None, BeforeValidator(_identifier)]
JsonObject = dict[str, Any]


class Message(BaseModel):
    """Fields every message has. Unknown fields are kept (``model_extra``).

    Attributes
    ----------
    user_id, anonymous_id : str or None
        ``userId`` (the customer id) and ``anonymousId``; at least one is given.
    message_id : str or None
        ``messageId``; see :func:`content_message_id` for messages without one.
    timestamp : datetime or None
        When it happened, naive UTC; None means when it was received.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, frozen=True)

    type: str
    user_id: Identifier = Field(None, alias="userId")
    anonymous_id: Identifier = Field(None, alias="anonymousId")
    message_id: Identifier = Field(None, alias="messageId")
    timestamp: datetime | None = None
    context: JsonObject = Field(default_factory=dict)
    integrations: JsonObject = Field(default_factory=dict)

    @model_validator(mode="after")
    def _someone(self) -> Message:
        if self.user_id is None and self.anonymous_id is None:
            raise ValueError("userId or anonymousId: give at least one of them")
        return self

    @pydantic.field_validator("timestamp")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Stored timestamps are naive UTC; a naive one is read as UTC, as Segment does.
        if value is not None and value.tzinfo is not None:
            try:
                # As value.astimezone(UTC).replace(tzinfo=None), in half the time: both
                # methods are slow on pydantic's time zones (1.1 µs an event).
                v = value
                naive = datetime(v.year, v.month, v.day, v.hour, v.minute, v.second, v.microsecond)
                value = naive - cast(timedelta, value.utcoffset())
            except OverflowError:  # year 1 at +14:00, year 9999 at -14:00
                raise ValueError("must be between the years 1678 and 2261") from None
        if value is not None and not 1678 <= value.year <= 2261:
            raise ValueError("must be between the years 1678 and 2261")
        return value

    @property
    def event_name(self) -> str | None:
        """The ``event`` column: the event (track), page or screen name, group id."""
        return None

    @property
    def payload(self) -> JsonObject:
        """The ``properties`` column: properties, or traits for identify and group."""
        return {}


EventName = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
Name = Annotated[str | None, Field(max_length=MAX_ID_CHARS)]


class Track(Message):
    """``track``: something a user did (``event``) and its ``properties``."""

    type: Literal["track"] = "track"
    event: EventName
    properties: JsonObject = Field(default_factory=dict)

    @property
    def event_name(self) -> str | None:
        return self.event

    @property
    def payload(self) -> JsonObject:
        return self.properties


class Page(Message):
    """``page``: a web page viewed; ``name`` and ``properties`` (path, url, title...)."""

    type: Literal["page"] = "page"
    name: Name = None
    category: Name = None
    properties: JsonObject = Field(default_factory=dict)

    @property
    def event_name(self) -> str | None:
        return self.name

    @property
    def payload(self) -> JsonObject:
        return self.properties


class Screen(Page):
    """``screen``: a mobile app screen viewed, as :class:`Page`."""

    type: Literal["screen"] = "screen"  # type: ignore[assignment]


class Identify(Message):
    """``identify``: who the user is (``userId``) and their ``traits``."""

    type: Literal["identify"] = "identify"
    traits: JsonObject = Field(default_factory=dict)

    @property
    def payload(self) -> JsonObject:
        return self.traits


class Group(Message):
    """``group``: the user belongs to ``groupId`` (a company, an account) with ``traits``."""

    type: Literal["group"] = "group"
    group_id: RequiredIdentifier = Field(alias="groupId")
    traits: JsonObject = Field(default_factory=dict)

    @property
    def event_name(self) -> str | None:
        return self.group_id

    @property
    def payload(self) -> JsonObject:
        return self.traits


class Alias(Message):
    """``alias``: ``previousId`` (an anonymous or former id) is now ``userId``."""

    type: Literal["alias"] = "alias"
    previous_id: RequiredIdentifier = Field(alias="previousId")

    @model_validator(mode="after")
    def _user(self) -> Alias:
        if self.user_id is None:
            raise ValueError("userId: an alias needs the id the user is known by now")
        return self

    @property
    def payload(self) -> JsonObject:
        return {"previousId": self.previous_id}


AnyMessage = Annotated[
    Identify | Track | Page | Screen | Group | Alias, Field(discriminator="type")
]
_MODELS: dict[str, type[Message]] = {
    "identify": Identify,
    "track": Track,
    "page": Page,
    "screen": Screen,
    "group": Group,
    "alias": Alias,
}
_ANY_MESSAGE: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(AnyMessage)
_MESSAGE_LIST: pydantic.TypeAdapter[list[Any]] = pydantic.TypeAdapter(list[AnyMessage])


@dataclass(frozen=True)
class Request:
    """One checked request: its messages in order, the write key of its body, if any."""

    messages: tuple[Message, ...]
    write_key: str | None


def parse_request(endpoint: str, body: bytes, *, encoding: str | None = None) -> Request:
    """Check the body of a request to ``/v1/<endpoint>`` and return its messages.

    Parameters
    ----------
    endpoint : str
        ``batch`` or one of :data:`MESSAGE_TYPES`.
    body : bytes
        The body as received.
    encoding : str, optional
        ``Content-Encoding``: ``gzip`` or ``deflate`` bodies are inflated (bounded by
        the size limit, so a small bomb cannot fill the memory).

    Raises
    ------
    PayloadError
        Naming the field and the reason; the request must be refused whole.
    """
    limit = MAX_BATCH_BYTES if endpoint == "batch" else MAX_MESSAGE_BYTES
    data = _decode(_inflate(body, encoding, limit), limit, endpoint)
    write_key = data.get("writeKey")
    if write_key is not None and not isinstance(write_key, str):
        raise PayloadError("writeKey: must be a string.")
    if endpoint != "batch":
        return Request((_message(endpoint, data, endpoint),), write_key)
    items = data.get("batch")
    if not isinstance(items, list):
        raise PayloadError("batch: must be a list of messages.")
    # Segment merges the batch's own context and integrations into each message.
    shared = {k: data[k] for k in ("context", "integrations") if isinstance(data.get(k), dict)}
    merged: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            merged.append(_batch_item(index, item, shared))
        except PayloadError:
            _batch_messages(merged)  # messages are judged in order: an earlier fault first
            raise
    return Request(_batch_messages(merged), write_key)


def _batch_item(index: int, item: Any, shared: dict[str, Any]) -> dict[str, Any]:
    """Message ``index`` of a batch, its size and type checked, the shared fields merged."""
    where = f"batch[{index}]"
    if not isinstance(item, dict):
        raise PayloadError(f"{where}: must be a JSON object.")
    size = _size(item)
    if size > MAX_MESSAGE_BYTES:
        raise PayloadError(
            f"{where}: {size:,} bytes, more than the {MAX_MESSAGE_BYTES // 1024} KB a "
            "message may hold."
        )
    if item.get("type") not in _MODELS:
        raise PayloadError(f"{where}.type: must be one of {', '.join(MESSAGE_TYPES)}.")
    merged = {**item}
    for key, value in shared.items():
        own = item.get(key)
        merged[key] = {**value, **own} if isinstance(own, dict) else own or value
    return merged


def _batch_messages(items: list[dict[str, Any]]) -> tuple[Message, ...]:
    """The messages of a batch, checked by one pydantic call rather than one per message.

    When one is refused, they are checked again one by one, which names the first
    faulty message and its field exactly as a message sent alone is named.
    """
    try:
        return tuple(_MESSAGE_LIST.validate_python(items))
    except (pydantic.ValidationError, RecursionError):
        return tuple(
            _message(item["type"], item, f"batch[{index}]") for index, item in enumerate(items)
        )


def content_message_id(message: Message, received_at: datetime, position: int) -> str:
    """A ``messageId`` for a message without one, derived from its content.

    A client that retries sends the same content, so the same id is derived and the
    retry is a duplicate, as with the importer's ids for events. Only messages with a
    ``timestamp`` can be recognised so: without one, the moment and position of
    reception are part of the id, so two identical clicks are never merged.

    Examples
    --------
    >>> from datetime import datetime
    >>> now = datetime(2024, 5, 1)
    >>> a = Track(userId="c1", event="Clicked", timestamp=now)
    >>> content_message_id(a, now, 0) == content_message_id(a, datetime(2025, 1, 1), 3)
    True
    >>> b = Track(userId="c1", event="Clicked")
    >>> content_message_id(b, now, 0) == content_message_id(b, now, 1)
    False
    """
    content = message.model_dump(mode="json", by_alias=True)
    content = {k: v for k, v in content.items() if k not in _DELIVERY_FIELDS}
    if message.timestamp is None:
        content["_received"] = [received_at.isoformat(), position]
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha-" + hashlib.sha256(text.encode()).hexdigest()[:32]


def _inflate(body: bytes, encoding: str | None, limit: int) -> bytes:
    coding = (encoding or "identity").strip().lower()
    if coding in ("", "identity"):
        return body
    if coding not in ("gzip", "deflate"):
        raise PayloadError(f"Content-Encoding {coding!r}: send gzip, deflate or plain JSON.")
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    inflater = zlib.decompressobj(wbits)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise PayloadError(f"body: not valid {coding} data ({error}).") from None
    if len(data) > limit or inflater.unconsumed_tail:
        raise PayloadError(_too_large(limit))
    return data


def _size(item: dict[str, Any]) -> int:
    """Bytes of ``item`` as ``json.dumps`` writes it, the measure of the 32 KB limit.

    orjson's compact form is about twenty times faster to write; the slow, exact
    measure is taken only for a message that could be over the limit.
    """
    try:
        compact = len(orjson.dumps(item))
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254 levels)
        compact = MAX_MESSAGE_BYTES
    if compact * _COMPACT_FACTOR <= MAX_MESSAGE_BYTES:
        return compact
    return len(json.dumps(item, ensure_ascii=False).encode())


def _too_large(limit: int) -> str:
    return f"body: more than the {limit // 1024} KB a request to this endpoint may hold."


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is too large for a JSON number")
    return value


def _decode(body: bytes, limit: int, endpoint: str) -> dict[str, Any]:
    if len(body) > limit:
        raise PayloadError(_too_large(limit))
    if _LONG_NUMBER not in body.translate(_DIGITS):
        # orjson reads strict JSON only, several times faster; whatever it refuses (and
        # a few things it does not, such as a byte order mark or a lone surrogate) goes
        # to the standard reader below, which accepts or refuses it as it always has.
        # So does JSON nested deeper than orjson writes (254 levels), which writing it
        # once tells: the standard reader refuses it past about 1,000 levels, and what
        # it accepts must be stored as it always was.
        try:
            data = orjson.loads(body)
            orjson.dumps(data)
        except (orjson.JSONDecodeError, orjson.JSONEncodeError):
            pass
        else:
            if not isinstance(data, dict):
                raise PayloadError(f"body: a request to /v1/{endpoint} must be a JSON object.")
            return data
    try:
        # NaN and Infinity are not JSON; Python's reader would accept them, and would
        # read 1e999 as infinity, which no JSON writer can store back.
        data = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise PayloadError("body: not UTF-8 text.") from None
    except RecursionError:
        raise PayloadError("body: JSON nested too deeply.") from None
    except ValueError as error:
        raise PayloadError(f"body: not valid JSON ({error}).") from None
    if not isinstance(data, dict):
        raise PayloadError(f"body: a request to /v1/{endpoint} must be a JSON object.")
    # A \\uD800-\\uDFFF escape standing alone is no character: it cannot be stored.
    if _SURROGATE.search(body):
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise PayloadError("body: holds a \\u escape of half a character.") from None
    return data


def _message(kind: str, data: dict[str, Any], where: str) -> Message:
    # The endpoint decides the type; a body naming another one is a mistake.
    if data.get("type", kind) != kind:
        raise PayloadError(f"{where}.type: {data['type']!r} sent to /v1/{kind}.")
    try:
        message: Message = _ANY_MESSAGE.validate_python({**data, "type": kind})
    except pydantic.ValidationError as error:
        raise PayloadError(_first_error(error, where)) from None
    except RecursionError:
        raise PayloadError(f"{where}: JSON nested too deeply.") from None
    return message


def _first_error(error: pydantic.ValidationError, where: str) -> str:
    """The first problem as one sentence: ``batch[3].event: missing (2 more problems).``"""
    errors = error.errors(include_url=False)
    first = errors[0]
    # The discriminator (the type) opens every location: the rest names the field.
    path = ".".join(str(part) for part in first["loc"][1:])
    text = "missing" if first["type"] == "missing" else first["msg"]
    text = text.removeprefix("Value error, ")
    # In a batch, say which message; a single message's fields are named alone.
    prefix = f"{where}." if where not in MESSAGE_TYPES else ""
    if path:
        text = f"{prefix}{path}: {text}"
    elif prefix:
        text = f"{prefix}{text}"  # a check on the whole message names its fields itself
    others = len(errors) - 1
    more = f" ({others} more problem{'s' * (others > 1)})" if others else ""
    return f"{text}{more}."
