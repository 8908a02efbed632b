"""parse_request: orjson reads what it can, and every verdict is the standard reader's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cible.ingest.payloads import MAX_MESSAGE_BYTES, PayloadError, parse_request


def track(**extra: Any) -> dict[str, Any]:
    return {"type": "track", "userId": "u1", "event": "Clicked", **extra}


def refusal(endpoint: str, body: bytes) -> str:
    with pytest.raises(PayloadError) as caught:
        parse_request(endpoint, body)
    return str(caught.value)


def test_integers_beyond_64_bits_keep_every_digit():
    # orjson would read this one as a float; the standard reader keeps it whole.
    big = 123456789012345678901234567890
    message = parse_request("track", json.dumps(track(properties={"n": big})).encode())
    assert message.messages[0].payload == {"n": big}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # What orjson refuses but the standard reader takes: kept.
        (b'\xef\xbb\xbf{"userId": "u1", "event": "e"}', None),
        # Refused by both: the sentence stays the standard reader's.
        (b'{"userId": "u1", "event": "e"} x', "body: not valid JSON (Extra data: line 1 column 32"),
        (b'{"userId": "u1", "event": "\\ud800"}', "body: holds a \\u escape of half a character."),
        (b'{"userId": "u1", "event": "e", "properties": {"x": NaN}}', "body: not valid JSON (NaN"),
    ],
)
def test_bodies_orjson_refuses_get_the_standard_readers_verdict(body: bytes, expected: str | None):
    if expected is None:
        assert parse_request("track", body).messages[0].event_name == "e"
    else:
        assert refusal("track", body).startswith(expected)


@pytest.mark.parametrize(("depth", "refused"), [(300, False), (1_010, True)])
def test_json_nested_deeper_than_orjson_writes_is_judged_by_the_standard_reader(
    depth: int, refused: bool
):
    nested = b"[" * depth + b"]" * depth
    body = b'{"userId": "u1", "event": "e", "properties": {"a": ' + nested + b"}}"
    if refused:
        assert refusal("track", body) == "body: JSON nested too deeply."
    else:
        assert parse_request("track", body).messages[0].event_name == "e"


def test_the_32_kb_of_a_batched_message_are_counted_as_json_dumps_writes_it():
    # Compact, 12,000 zeros take 24 KB; with json.dumps's ", " separators, 36 KB.
    over = track(properties={"l": [0] * 12_000})
    size = len(json.dumps(over, ensure_ascii=False).encode())
    assert len(json.dumps(over, separators=(",", ":"))) < MAX_MESSAGE_BYTES < size
    body = json.dumps({"batch": [track(), over]}, separators=(",", ":")).encode()
    assert refusal("batch", body) == (
        f"batch[1]: {size:,} bytes, more than the 32 KB a message may hold."
    )
    under = json.dumps({"batch": [track(properties={"l": [0] * 10_000})]}).encode()
    assert len(parse_request("batch", under).messages) == 1


@pytest.mark.parametrize(
    ("batch", "expected"),
    [
        ([track(), {"type": "track", "userId": "u1"}], "batch[1].event: missing."),
        # A message refused for its fields before one refused for its type: named first.
        ([{"type": "track", "userId": "u1"}, {"type": "bogus"}], "batch[0].event: missing."),
        (
            [{"type": "bogus"}, {"type": "track", "userId": "u1"}],
            "batch[0].type: must be one of identify, track, page, screen, group, alias.",
        ),
        (
            [track(), track(timestamp="yesterday"), track(userId=True)],
            "batch[1].timestamp: Input should be a valid datetime or date, input is too short.",
        ),
    ],
)
def test_a_batch_names_its_first_faulty_message(batch: list[dict[str, Any]], expected: str):
    assert refusal("batch", json.dumps({"batch": batch}).encode()) == expected


def test_a_batch_checked_in_one_call_gives_each_message_the_shared_context():
    body = {
        "batch": [track(messageId="m1"), track(messageId="m2", context={"ip": "10.0.0.2"})],
        "context": {"ip": "10.0.0.1", "library": {"name": "x"}},
    }
    messages = parse_request("batch", json.dumps(body).encode()).messages
    assert [m.message_id for m in messages] == ["m1", "m2"]
    assert [m.context["ip"] for m in messages] == ["10.0.0.1", "10.0.0.2"]
    assert all(m.context["library"] == {"name": "x"} for m in messages)
