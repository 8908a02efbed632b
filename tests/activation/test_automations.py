"""Automations: triggers, re-entry, waits, branches, goal, pause, dry run, deliveries."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from cible import Workspace
from cible.activation.automation_definition import AutomationError
from cible.activation.automation_engine import Rendered
from cible.activation.automations import Automations
from cible.domain.clock import utc_now
from cible.domain.errors import CibleError
from cible.ingest.payloads import Identify, Page, Track
from tests.activation.conftest import make_shop


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    shop = make_shop(tmp_path)
    with Workspace.open(shop) as ws:
        for name in ("hot-lead", "greeted", "vip"):
            ws.tags.define(name)
        ws.segments.add({"id": "hot-leads", "name": "Hot", "where": {"tag": "hot-lead"}})
        ws.run()
    return shop


def _log(ws: Workspace, automation: str, customer: str) -> list[tuple[str, str, str]]:
    return [
        (r.step, r.action, r.outcome) for r in ws.automations.log(automation, customer_id=customer)
    ]


def test_a_tag_trigger_runs_the_steps_and_re_entry_follows_the_policy(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.automations.add(
            {
                "id": "greet",
                "trigger": {"tag": "hot-lead"},
                "reentry": "once",
                "steps": [{"add_tag": "greeted"}],
            }
        )
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        done = ws.automations.process()
        assert (done.started, done.tagged) == (1, ("a",))
        assert ws.tags.of(["a"]) == {"a": ["greeted", "hot-lead"]}
        assert _log(ws, "greet", "a") == [
            ("steps[0]", "add_tag", "done"),
            ("end", "end", "done"),
        ]
        # The outbox rows read are handled: a second pass starts nothing.
        assert ws.automations.process().started == 0
        ws.tags.withdraw("hot-lead", ["a"], actor="cli")
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        assert ws.automations.process().started == 0  # once
        assert [r.status for r in ws.automations.runs("greet")] == ["done"]


def test_re_entry_after_days_and_never_two_runs_at_once(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.automations.add(
            {
                "id": "nurture",
                "trigger": {"tag": "hot-lead"},
                "reentry_days": 7,
                "steps": [{"wait": {"days": 1}}, {"add_tag": "greeted"}],
            }
        )
        now = utc_now()
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        assert ws.automations.process(now=now).started == 1
        ws.tags.withdraw("hot-lead", ["a"], actor="cli")
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        assert ws.automations.process(now=now).started == 0  # still waiting
        later = ws.automations.process(now=now + timedelta(days=1, minutes=1))
        assert (later.advanced, ws.tags.of(["a"])["a"]) == (1, ["greeted", "hot-lead"])
        ws.tags.withdraw("hot-lead", ["a"], actor="cli")
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        assert ws.automations.process(now=now + timedelta(days=2)).started == 0  # < 7 days
        ws.tags.withdraw("hot-lead", ["a"], actor="cli")
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        assert ws.automations.process(now=now + timedelta(days=8)).started == 1


def test_a_branch_reads_segments_and_a_wait_until_times_out(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.automations.add(
            {
                "id": "hot",
                "trigger": {"segment": "hot-leads"},
                "steps": [
                    {
                        "branch": {
                            "if": {"in_segment": "hot-leads"},
                            "then": [{"wait": {"until": {"tag": "vip"}, "max_days": 2}}],
                            "else": [{"end": True}],
                        }
                    },
                    {"add_tag": "greeted"},
                ],
            }
        )
        now = utc_now()
        ws.tags.apply("hot-lead", ["a", "b"], actor="cli")  # both enter hot-leads live
        assert ws.automations.process(now=now).started == 2
        ws.tags.apply("vip", ["b"], actor="cli")
        ws.automations.process(now=now + timedelta(minutes=2))
        assert ws.tags.of(["b"])["b"] == ["greeted", "hot-lead", "vip"]
        assert "greeted" not in ws.tags.of(["a"])["a"]
        ws.automations.process(now=now + timedelta(days=2, minutes=5))
        assert ws.tags.of(["a"])["a"] == ["greeted", "hot-lead"]
        assert _log(ws, "hot", "a") == [
            ("steps[0]", "branch", "then"),
            ("steps[0].branch.then[0]", "wait", "waiting"),
            ("steps[0].branch.then[0]", "wait", "timed out"),
            ("steps[1]", "add_tag", "done"),
            ("end", "end", "done"),
        ]


def test_the_goal_ends_a_run_and_a_paused_automation_neither_starts_nor_moves(
    shop: Path,
) -> None:
    with Workspace.open(shop) as ws:
        ws.automations.add(
            {
                "id": "g",
                "trigger": {"tag": "hot-lead"},
                "goal": {"tag": "vip"},
                "steps": [{"wait": {"hours": 1}}, {"add_tag": "greeted"}],
            }
        )
        now = utc_now()
        ws.tags.apply("hot-lead", ["a", "b"], actor="cli")
        ws.automations.process(now=now)
        ws.tags.apply("vip", ["a"], actor="cli")
        ws.automations.pause("g")
        ws.tags.apply("hot-lead", ["d"], actor="cli")
        assert ws.automations.process(now=now + timedelta(hours=2)).started == 0
        assert {r.customer_id: r.status for r in ws.automations.runs("g")} == {
            "a": "waiting",
            "b": "waiting",
        }
        ws.automations.resume("g")
        ws.automations.process(now=now + timedelta(hours=2))
        assert {r.customer_id: r.status for r in ws.automations.runs("g")} == {
            "a": "goal",
            "b": "done",
        }
        assert ws.tags.of(["a", "b"]) == {
            "a": ["hot-lead", "vip"],
            "b": ["greeted", "hot-lead"],
        }


def test_changing_an_automation_stops_its_runs(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        body = {"id": "w", "trigger": {"tag": "hot-lead"}, "steps": [{"wait": {"days": 3}}]}
        ws.automations.add(body)
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        ws.automations.process()
        assert ws.automations.add(body)["version"] == 1  # unchanged: nothing stops
        assert ws.automations.add({**body, "steps": [{"wait": {"days": 4}}]})["version"] == 2
        assert [r.status for r in ws.automations.runs("w")] == ["stopped"]


def test_an_event_matching_a_trigger_is_stored_with_its_outbox_row(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.automations.add(
            {
                "id": "pricing",
                "trigger": {
                    "event": {
                        "type": "page",
                        "where": [{"property": "url", "op": "contains", "value": "/TARIFS"}],
                    }
                },
                "steps": [{"add_tag": "hot-lead"}],
            }
        )
        ws.events.append(
            [
                Page(userId="a", messageId="m1", properties={"url": "https://shop.example/tarifs"}),
                Page(userId="b", messageId="m2", properties={"url": "https://shop.example/blog"}),
                Page(
                    anonymousId="anon",
                    messageId="m3",
                    properties={"url": "https://shop.example/tarifs"},
                ),
                Track(userId="c", messageId="m4", event="Pricing", properties={}),
                Page(userId="d", messageId="m5", context={"page": {"url": "/fr/tarifs"}}),
            ]
        )
        rows = [r for r in ws.store.pending_transitions() if r.kind == "event"]
        assert [(r.customer_id, r.subject, r.transition) for r in rows] == [
            ("a", "m1", "pricing"),
            ("d", "m5", "pricing"),
        ]
        assert ws.automations.process().started == 2
        assert ws.tags.customers("hot-lead") == ["a", "d"]
        # Once the cookie is linked to b, b's logged-out visit counts as b's.
        ws.events.append([Identify(userId="b", anonymousId="anon", messageId="i1")])
        ws.events.append([Page(anonymousId="anon", messageId="m6", properties={"url": "/tarifs"})])
        assert ws.automations.process().started == 1
        assert ws.tags.customers("hot-lead") == ["a", "b", "d"]


def test_a_definition_naming_what_does_not_exist_is_refused_with_its_path(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        cases = {
            "trigger.segment: unknown segment 'hot-lead'": {"trigger": {"segment": "hot-lead"}},
            "steps[0].webhook.name: unknown webhook 'sales'": {
                "trigger": {"tag": "vip"},
                "steps": [{"webhook": {"name": "sales"}}],
            },
            "steps[0]: unknown tag 'vipp'": {
                "trigger": {"tag": "vip"},
                "steps": [{"branch": {"if": {"tag": "vipp"}, "then": [{"end": True}]}}],
            },
            "steps[0].email.template: unknown template 'guide'": {
                "trigger": {"tag": "vip"},
                "steps": [{"email": {"template": "guide"}}],
            },
        }
        for message, body in cases.items():
            with pytest.raises(AutomationError, match=message.replace("[", r"\[")):
                ws.automations.add({"id": "x", "steps": [{"end": True}], **body})
        assert ws.automations.list() == []


def _sender(ws: Workspace) -> Automations:
    """Automations with a template renderer standing in for message templates."""

    def render(template: str, customer: str, lang: str | None, extra: dict[str, Any]) -> Rendered:
        return Rendered(f"Hello {customer}", f"<p>{extra['unsubscribe_url']}</p>", "hi", "en")

    return Automations(
        ws.store,
        ws.registry,
        ws.config,
        render=render,
        unsubscribe=lambda customer, channel: f"https://x/u/{customer}-{channel}",
        templates=lambda: ["guide"],
        segments=lambda: ["hot-leads"],
    )


def test_sending_steps_queue_deliveries_with_the_consent_to_check(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    config = shop / "cible.toml"
    config.write_text(
        config.read_text()
        + '\n[webhooks.sales]\nurl = "http://127.0.0.1:9/hook"\nsecret_env = "SALES_SECRET"\n'
        + '\n[webhooks.team]\nurl = "http://127.0.0.1:9/chat"\nsecret_env = "CHAT_SECRET"\n'
        + 'personal_data = false\nformat = "chat"\n'
    )
    with Workspace.open(shop) as ws:
        ws.tags.define("hot-lead")
        automations = _sender(ws)
        automations.add(
            {
                "id": "tell",
                "trigger": {"tag": "hot-lead"},
                "steps": [
                    {"email": {"template": "guide"}},
                    {"webhook": {"name": "sales", "event": "hot_lead"}},
                    {
                        "notify": {
                            "webhook": "team",
                            "text": "{{ customer.first_name }}#{{ customer.customer_id }} is hot",
                        }
                    },
                ],
            }
        )
        ws.tags.apply("hot-lead", ["a", "c"], actor="cli")  # c has no e-mail address
        assert automations.process().deliveries == 5
        rows = ws.store.table("deliveries").order_by("delivery_id").to_pyarrow().to_pylist()
        got = [
            (r["kind"], r["customer_id"], r["target"], r["consent_channel"], r["cap_channel"])
            for r in rows
        ]
        assert got == [
            ("email", "a", "a@example.com", "email", "email"),
            ("webhook", "a", "sales", "email", None),
            ("notify", "a", "team", None, None),
            ("webhook", "c", "sales", "email", None),
            ("notify", "c", "team", None, None),
        ]
        email, hook, note = (json.loads(r["payload"]) for r in rows[:3])
        assert email["subject"] == "Hello a" and "https://x/u/a-email" in email["html"]
        assert hook["type"] == "hot_lead" and hook["data"]["customer"]["email"] == "a@example.com"
        # The team endpoint is declared without personal data: the text gets no profile.
        assert note == {"text": "#a is hot"}
        assert len({r["idempotency_key"] for r in rows}) == 5
        assert ("steps[0]", "email", "skipped") in _log(ws, "tell", "c")


def test_special_category_fields_never_leave_in_a_webhook(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, run=False)
    config = shop / "cible.toml"
    config.write_text(
        config.read_text()
        + '\n[attributes.religion]\nsensitivity = "special"\n'
        + '\n[webhooks.sales]\nurl = "http://127.0.0.1:9/hook"\nsecret_env = "S"\n'
    )
    (tmp_path / "r.csv").write_text("customer_id,religion\na,secret\n")
    with Workspace.open(shop) as ws:
        ws.imports.load("customers", tmp_path / "r.csv")
        ws.tags.define("hot-lead")
        ws.automations.add(
            {"id": "t", "trigger": {"tag": "hot-lead"}, "steps": [{"webhook": {"name": "sales"}}]}
        )
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        ws.automations.process()
        payload = ws.store.table("deliveries").payload.to_pyarrow().to_pylist()[0]
        assert "religion" not in json.loads(payload)["data"]["customer"]
        assert "secret" not in payload


def test_a_dry_run_shows_every_step_and_writes_nothing(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.automations.add(
            {
                "id": "dry",
                "trigger": {"tag": "vip"},
                "steps": [
                    {"add_tag": "hot-lead"},
                    {"wait": {"hours": 3}},
                    {"branch": {"if": {"tag": "hot-lead"}, "then": [{"add_tag": "greeted"}]}},
                ],
            }
        )
        steps = ws.automations.dry_run("dry", "b")
        assert [(s["step"], s["action"], s["outcome"]) for s in steps] == [
            ("steps[0]", "add_tag", "done"),
            ("steps[1]", "wait", "would wait"),
            ("steps[2]", "branch", "then"),
            ("steps[2].branch.then[0]", "add_tag", "done"),
            ("end", "end", "done"),
        ]
        assert ws.tags.of(["b"]) == {}
        assert ws.automations.runs("dry") == []
        with pytest.raises(Exception, match="No customer 'zz'"):
            ws.automations.dry_run("dry", "zz")


def test_a_current_run_tells_automations_of_its_transitions_a_replay_does_not(
    tmp_path: Path,
) -> None:
    shop = make_shop(tmp_path)
    config = shop / "cible.toml"
    config.write_text(config.read_text().replace("refresh = true", "refresh = false"))
    with Workspace.open(shop) as ws:
        assert not ws.config.live.refresh
        ws.tags.define("hot-lead")
        ws.segments.add({"id": "hot-leads", "name": "Hot", "where": {"tag": "hot-lead"}})
        ws.tags.apply("hot-lead", ["a"], actor="cli")
        ws.run(as_of=datetime(2025, 6, 1))  # a replay of the past: nothing
        assert [r for r in ws.store.pending_transitions() if r.kind == "segment"] == []
        ws.run()
        moves = [r for r in ws.store.pending_transitions() if r.segment_id == "hot-leads"]
        assert [(r.customer_id, r.transition, r.source) for r in moves] == [("a", "entered", "run")]


def test_a_date_trigger_starts_each_customer_once_on_their_day(tmp_path: Path) -> None:
    shop = make_shop(tmp_path, run=False)
    (tmp_path / "b.csv").write_text(
        "customer_id,birth_date\na,1990-03-02\nb,1985-03-05\nc,1992-02-29\nd,\n"
    )
    with Workspace.open(shop) as ws:
        ws.imports.load("customers", tmp_path / "b.csv")
        ws.tags.define("birthday")
        ws.automations.add(
            {
                "id": "bday",
                "trigger": {"date": "birth_date", "yearly": True, "offset_days": -3},
                "steps": [{"add_tag": "birthday"}],
            }
        )
        # 23:30 UTC on 26 February is 27 February in Paris, three days before 2 March.
        evening = datetime(2025, 2, 26, 23, 30)
        assert ws.automations.process(now=evening, dates=True).started == 1
        assert ws.automations.process(now=evening, dates=True).started == 0  # once a day
        assert ws.automations.process(now=evening, dates=False).started == 0
        # 28 February 2025 (not a leap year) counts for the 29th: c starts on 25 Feb + 3.
        assert ws.automations.process(now=datetime(2025, 2, 25, 12), dates=True).started == 1
        assert [r.trigger for r in ws.automations.runs("bday", customer_id="a")] == [
            "date birth_date 2025-02-27"
        ]
        with pytest.raises(AutomationError, match="unknown date field 'birthday'"):
            ws.automations.add(
                {"id": "x", "trigger": {"date": "birthday"}, "steps": [{"end": True}]}
            )


def test_a_failing_step_fails_its_run_only_and_broken_texts_are_refused(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        with pytest.raises(AutomationError, match=r"steps\[0\].notify.text.en: line 1"):
            ws.automations.add(
                {
                    "id": "bad",
                    "trigger": {"tag": "vip"},
                    "steps": [{"notify": {"email": "team@example.com", "text": "{{ oops"}}],
                }
            )
        # A text that fails for one customer only (a method of a missing value).
        ws.automations.add(
            {
                "id": "shout",
                "trigger": {"tag": "vip"},
                "steps": [
                    {
                        "notify": {
                            "email": "team@example.com",
                            "text": "{{ customer.last_name.upper() }}",
                        }
                    }
                ],
            }
        )
        ws.automations.add(
            {"id": "calm", "trigger": {"tag": "vip"}, "steps": [{"add_tag": "greeted"}]}
        )
        ws.tags.apply("vip", ["a"], actor="cli")
        done = ws.automations.process()
        assert done.started == 2 and ws.tags.of(["a"])["a"] == ["greeted", "vip"]
        assert [r.status for r in ws.automations.runs("shout")] == ["failed"]
        assert ws.automations.log("shout")[-1].outcome == "failed"
        # The next pass reads the tag "greeted" set by calm; then nothing is left stuck.
        assert ws.automations.process().started == 0
        assert ws.automations.process().handled == 0


def test_only_what_happens_after_an_automation_is_saved_starts_it(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.tags.apply("vip", ["a"], actor="cli")  # before the automation existed
        ws.automations.add({"id": "v", "trigger": {"tag": "vip"}, "steps": [{"end": True}]})
        ws.tags.apply("vip", ["b"], actor="cli")
        assert ws.automations.process().started == 1
        assert [r.customer_id for r in ws.automations.runs("v")] == ["b"]


def test_a_new_segment_first_evaluated_by_a_run_starts_nothing(tmp_path: Path) -> None:
    shop = make_shop(tmp_path)
    config = shop / "cible.toml"
    config.write_text(config.read_text().replace("refresh = true", "refresh = false"))
    with Workspace.open(shop) as ws:
        ws.run()
        ws.segments.add(
            {
                "id": "big",
                "name": "Big",
                "where": {"trait": "monetary_value", "op": ">", "value": 40},
            }
        )
        ws.run()  # the first evaluation of "big": its members did not just enter
        assert [r for r in ws.store.pending_transitions() if r.segment_id == "big"] == []
        ws.tags.define("vip")


def test_a_template_an_automation_sends_cannot_be_removed(shop: Path, tmp_path: Path) -> None:
    guide = tmp_path / "guide.yaml"
    guide.write_text("id: guide\nname: Guide\nsubject: {en: Hi}\nhtml: {en: '<p>Hi</p>'}\n")
    with Workspace.open(shop) as ws:
        ws.templates.add(guide)
        ws.automations.add(
            {"id": "send", "trigger": {"tag": "vip"}, "steps": [{"email": {"template": "guide"}}]}
        )
        with pytest.raises(CibleError, match=r"sent by the automation\(s\) send"):
            ws.templates.remove("guide")
        ws.automations.remove("send")
        assert ws.templates.remove("guide")


def test_a_segment_added_since_the_latest_run_triggers_after_the_next(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.segments.add({"id": "vips", "name": "VIP", "where": {"tag": "vip"}})
        saved = ws.automations.add(
            {"id": "welcome-vip", "trigger": {"segment": "vips"}, "steps": [{"end": True}]}
        )
        assert "starts after the next run" in saved["notes"][0]
        ws.tags.apply("vip", ["a"], actor="cli")  # found live, not entering
        assert ws.automations.process().started == 0
        ws.run()
        ws.tags.apply("vip", ["b"], actor="cli")
        assert ws.automations.process().started == 1
        assert [r.customer_id for r in ws.automations.runs("welcome-vip")] == ["b"]
        assert (
            ws.automations.add(
                {"id": "welcome-vip", "trigger": {"segment": "vips"}, "steps": [{"end": True}]}
            )["notes"]
            == []
        )


def test_a_goal_reached_during_a_wait_ends_the_run_at_once(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        ws.automations.add(
            {
                "id": "nudge",
                "trigger": {"tag": "hot-lead"},
                "goal": {"tag": "vip"},
                "steps": [{"wait": {"days": 7}}, {"add_tag": "greeted"}],
            }
        )
        ws.tags.apply("hot-lead", ["a", "b"], actor="cli")
        ws.automations.process()
        ws.tags.apply("vip", ["a"], actor="cli")  # a reaches the goal while waiting
        ws.automations.process()
        assert {r.customer_id: r.status for r in ws.automations.runs("nudge")} == {
            "a": "goal",
            "b": "waiting",
        }
        assert _log(ws, "nudge", "a")[-1] == ("goal", "goal", "reached")
