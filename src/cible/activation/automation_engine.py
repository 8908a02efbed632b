"""Taking customers through an automation's steps: a program, facts, and what it decides.

The steps of a definition are flattened into a :class:`Program` (a branch jumps to
its ``else`` block, the end of a ``then`` block jumps past it), so a run's place is
one number, stored with the run. :func:`advance` moves one run forward from there
until it waits, ends or reaches its goal, reading the customer's :class:`Facts`
(profile, open memberships, tags) and writing nothing: it returns what it decided
(tag changes, deliveries, log lines), which the caller stores in one transaction.
The same function makes the dry run, with ``dry=True``: waits are passed over and
nothing is queued.

Examples
--------
>>> from datetime import datetime
>>> from cible.activation.automation_definition import parse_automation
>>> definition = parse_automation({"id": "welcome", "trigger": {"tag": "new"}, "steps": [
...     {"add_tag": "greeted"},
...     {"branch": {"if": {"in_segment": "vip"}, "then": [{"wait": {"days": 1}}],
...                 "else": [{"end": True}]}}]})
>>> program = Program.of(definition)
>>> [i.kind for i in program.instructions]
['tag', 'branch', 'wait', 'jump', 'end']
>>> facts = Facts(profiles={"c1": {"customer_id": "c1"}}, segments={"c1": {"vip"}},
...               tags={"c1": set()})
>>> run = new_run(definition, 1, "c1", "tag new added", datetime(2024, 5, 1))
>>> decided = advance(run, program, definition, facts, now=datetime(2024, 5, 1))
>>> run.status, run.resume_at, [c.tag for c in decided.tag_changes]
('waiting', datetime.datetime(2024, 5, 2, 0, 0), ['greeted'])
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from cible.activation.automation_definition import (
    AllOf,
    AnyOf,
    AutomationDefinition,
    BranchStep,
    EmailStep,
    EndStep,
    HasTag,
    InSegment,
    NotifyStep,
    NotOf,
    TagStep,
    WaitStep,
    WebhookStep,
)
from cible.activation.sandbox import compile_text, render
from cible.domain.activation_settings import WebhookEndpoint
from cible.store.automations import LogRow, RunRow
from cible.store.deliveries import NewDelivery
from cible.store.tags import TagChange

#: How often a ``wait: {until: ...}`` checks its condition again.
UNTIL_POLL = timedelta(minutes=1)
#: Instructions one call of :func:`advance` may execute (programs only go forward,
#: so this is a guard, never reached by a valid definition).
_MAX_STEPS = 10_000


@dataclass(frozen=True)
class Instruction:
    """One step of a flattened program; ``target`` is where a branch's ``else`` or a
    jump goes."""

    kind: str
    path: str
    step: Any = None
    target: int = -1


@dataclass(frozen=True)
class Program:
    """The steps of a definition, flattened."""

    instructions: tuple[Instruction, ...]

    @classmethod
    def of(cls, definition: AutomationDefinition) -> Program:
        """Flatten ``definition``'s steps."""
        out: list[Instruction] = []
        _flatten(definition.steps, "steps", out)
        return cls(tuple(out))


_KINDS: dict[type[Any], str] = {
    TagStep: "tag",
    WaitStep: "wait",
    EmailStep: "email",
    WebhookStep: "webhook",
    NotifyStep: "notify",
    EndStep: "end",
}


def _flatten(steps: tuple[Any, ...], path: str, out: list[Instruction]) -> None:
    for i, step in enumerate(steps):
        here = f"{path}[{i}]"
        if isinstance(step, BranchStep):
            at = len(out)
            out.append(Instruction("branch", here, step))
            _flatten(step.branch.then, f"{here}.branch.then", out)
            jump = len(out)
            out.append(Instruction("jump", here))
            out[at] = Instruction("branch", here, step, target=len(out))
            _flatten(step.branch.else_, f"{here}.branch.else", out)
            out[jump] = Instruction("jump", here, target=len(out))
        else:
            out.append(Instruction(_KINDS[type(step)], here, step))


@dataclass
class Facts:
    """What the steps read of each customer: profile, open memberships, tags.

    Tags changed by a step are updated here, so a later branch of the same pass sees
    them; memberships change only once the customers are re-evaluated.
    """

    profiles: dict[str, dict[str, Any]]
    segments: dict[str, set[str]]
    tags: dict[str, set[str]]
    #: The tags that exist (None: not checked); a step setting another one is skipped.
    known_tags: set[str] | None = None

    def holds(self, condition: Any, customer_id: str) -> bool:
        """Whether ``condition`` holds for the customer now."""
        if isinstance(condition, InSegment):
            return condition.in_segment in self.segments.get(customer_id, set())
        if isinstance(condition, HasTag):
            return condition.tag in self.tags.get(customer_id, set())
        if isinstance(condition, AllOf):
            return all(self.holds(c, customer_id) for c in condition.all)
        if isinstance(condition, AnyOf):
            return any(self.holds(c, customer_id) for c in condition.any)
        if isinstance(condition, NotOf):
            return not self.holds(condition.not_, customer_id)
        raise TypeError(f"not a condition: {type(condition).__name__}")


@dataclass
class Decided:
    """What advancing runs decided: to store in one transaction."""

    tag_changes: list[TagChange] = field(default_factory=list)
    deliveries: list[NewDelivery] = field(default_factory=list)
    log: list[LogRow] = field(default_factory=list)

    def extend(self, other: Decided) -> None:
        """Add ``other``'s decisions after these."""
        self.tag_changes += other.tag_changes
        self.deliveries += other.deliveries
        self.log += other.log


@dataclass(frozen=True)
class Rendered:
    """A message rendered for one customer."""

    subject: str
    html: str
    text: str
    lang: str


#: ``render(template_id, customer_id, lang, extra)``: a template rendered for a customer.
Renderer = Callable[[str, str, str | None, dict[str, Any]], Rendered]
#: ``unsubscribe(customer_id, channel)``: the one-click unsubscribe URL.
Unsubscriber = Callable[[str, str], str]


@dataclass(frozen=True)
class Context:
    """What steps need besides facts: settings, rendering, the moment."""

    webhooks: Mapping[str, WebhookEndpoint]
    render: Renderer
    unsubscribe: Unsubscriber
    trigger: Mapping[str, Any] = field(default_factory=dict)


def new_run(
    definition: AutomationDefinition, version: int, customer_id: str, trigger: str, now: datetime
) -> RunRow:
    """A run of ``definition`` for a customer, at its first step."""
    return RunRow(
        run_id=uuid.uuid4().hex[:20],
        automation_id=definition.id,
        version=version,
        customer_id=customer_id,
        trigger=trigger,
        status="active",
        position=json.dumps({"pc": 0}),
        resume_at=None,
        started_at=now,
        updated_at=now,
        ended_at=None,
    )


def advance(
    run: RunRow,
    program: Program,
    definition: AutomationDefinition,
    facts: Facts,
    *,
    now: datetime,
    context: Context | None = None,
    dry: bool = False,
) -> Decided:
    """Move ``run`` forward until it waits or ends; ``run`` is updated in place.

    With ``dry``, waits are passed over (logged as they would happen) and deliveries
    are described in the log but also returned, for the dry run to show.
    """
    decided = Decided()
    customer = run.customer_id
    position = json.loads(run.position)
    pc: int = position["pc"]

    def log(step: str, action: str, outcome: str, detail: str | None = None) -> None:
        decided.log.append(
            LogRow(run.run_id, run.automation_id, customer, now, step, action, outcome, detail)
        )

    for _ in range(_MAX_STEPS):
        if definition.goal is not None and facts.holds(definition.goal, customer):
            log("goal", "goal", "reached", "the goal holds: the run ends")
            _finish(run, "goal", now)
            return decided
        if pc >= len(program.instructions):
            _finish(run, "done", now)
            log("end", "end", "done")
            return decided
        instruction = program.instructions[pc]
        kind, step, path = instruction.kind, instruction.step, instruction.path
        if kind == "jump":
            pc = instruction.target
            continue
        if kind == "end":
            log(path, "end", "done")
            _finish(run, "done", now)
            return decided
        if kind == "tag":
            assert isinstance(step, TagStep)
            if facts.known_tags is not None and step.tag not in facts.known_tags:
                action = "add_tag" if step.add_tag else "remove_tag"
                log(path, action, "skipped", f"tag {step.tag!r} no longer exists")
                pc += 1
                continue
            decided.tag_changes.append(TagChange(customer, step.tag, step.action))
            carried = facts.tags.setdefault(customer, set())
            if step.action == "added":
                carried.add(step.tag)
            else:
                carried.discard(step.tag)
            log(path, "add_tag" if step.add_tag else "remove_tag", "done", step.tag)
            pc += 1
            continue
        if kind == "branch":
            assert isinstance(step, BranchStep)
            taken = facts.holds(step.branch.if_, customer)
            log(path, "branch", "then" if taken else "else")
            pc = pc + 1 if taken else instruction.target
            continue
        if kind == "wait":
            assert isinstance(step, WaitStep)
            wait = step.wait
            since = position.get("since")
            if wait.until is None:
                if dry:
                    log(path, "wait", "would wait", span(wait.duration))
                    pc += 1
                    continue
                if since is None:
                    resume = now + wait.duration
                    _pause(run, pc, now, resume)
                    log(path, "wait", "waiting", f"until {resume:%Y-%m-%d %H:%M} UTC")
                    return decided
                position.pop("since", None)
                log(path, "wait", "over")
                pc += 1
                continue
            if facts.holds(wait.until, customer):
                position.pop("since", None)
                log(path, "wait", "condition met")
                pc += 1
                continue
            started = datetime.fromisoformat(since) if since else now
            if dry:
                log(
                    path,
                    "wait",
                    "would wait",
                    f"until the condition holds, {wait.max_days} days at most",
                )
                pc += 1
                continue
            if now - started >= timedelta(days=wait.max_days):
                position.pop("since", None)
                log(path, "wait", "timed out", f"{wait.max_days} days without the condition")
                pc += 1
                continue
            _pause(run, pc, now, now + UNTIL_POLL, since=started)
            if since is None:
                log(path, "wait", "waiting", "until the condition holds")
            return decided
        if context is None:
            raise ValueError("sending steps need a context")
        delivery = _delivery(kind, step, run, pc, facts, context, now)
        if isinstance(delivery, str):
            log(path, kind, "skipped", delivery)
        else:
            decided.deliveries.append(delivery)
            # The log says which template or endpoint, never a customer's address: it
            # is read by roles that may not see personal data.
            shown = step.email.template if isinstance(step, EmailStep) else delivery.target
            log(path, kind, "would send" if dry else "queued", shown)
        pc += 1
    raise RuntimeError(f"automation {run.automation_id}: too many steps in one pass")


def span(duration: timedelta) -> str:
    """A duration as people write it.

    Examples
    --------
    >>> span(timedelta(days=2)), span(timedelta(hours=1, minutes=30)), span(timedelta(0))
    ('2 d', '1 h 30 min', '0 min')
    """
    minutes = int(duration.total_seconds() // 60)
    days, rest = divmod(minutes, 1_440)
    hours, minutes = divmod(rest, 60)
    parts = [f"{n} {unit}" for n, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if n]
    return " ".join(parts) or "0 min"


def _pause(
    run: RunRow, pc: int, now: datetime, resume: datetime, *, since: datetime | None = None
) -> None:
    run.status = "waiting"
    run.position = json.dumps({"pc": pc, "since": (since or now).isoformat()})
    run.resume_at = resume
    run.updated_at = now


def _finish(run: RunRow, status: str, now: datetime) -> None:
    run.status = status
    run.resume_at = None
    run.updated_at = now
    run.ended_at = now


def _delivery(
    kind: str, step: Any, run: RunRow, pc: int, facts: Facts, context: Context, now: datetime
) -> NewDelivery | str:
    """The delivery a sending step makes, or why it makes none."""
    customer = run.customer_id
    profile = facts.profiles.get(customer, {})
    key = f"{run.run_id}:{pc}"
    source = f"automation:{run.automation_id}"
    if isinstance(step, EmailStep):
        address = profile.get("email")
        if not address:
            return "no e-mail address"
        extra = {"unsubscribe_url": context.unsubscribe(customer, "email")}
        message = context.render(step.email.template, customer, None, extra)
        payload = {
            "to": address,
            "subject": message.subject,
            "html": message.html,
            "text": message.text,
            "lang": message.lang,
            "template": step.email.template,
        }
        return NewDelivery(
            key, "email", customer, address, _json(payload), "email", "marketing", "email", source
        )
    if isinstance(step, WebhookStep):
        endpoint = context.webhooks.get(step.webhook.name)
        if endpoint is None:
            return f"no webhook {step.webhook.name!r} in cible.toml"
        body = {
            "type": step.webhook.event,
            "timestamp": now.isoformat() + "Z",
            "data": {
                "automation": run.automation_id,
                "run": run.run_id,
                "trigger": run.trigger,
                "customer_id": customer,
                **({"customer": _plain(profile)} if endpoint.personal_data else {}),
                "segments": sorted(facts.segments.get(customer, set())),
                "tags": sorted(facts.tags.get(customer, set())),
            },
        }
        channel = endpoint.channel if endpoint.personal_data else None
        purpose = endpoint.purpose if endpoint.personal_data else None
        return NewDelivery(
            key, "webhook", customer, step.webhook.name, _json(body), channel, purpose, None, source
        )
    assert isinstance(step, NotifyStep)
    notify = step.notify
    if notify.webhook is not None:
        endpoint = context.webhooks.get(notify.webhook)
        if endpoint is None:
            return f"no webhook {notify.webhook!r} in cible.toml"
        # An endpoint declared without personal data gets none: no profile in the text.
        personal = profile if endpoint.personal_data else None
        text = _notify_text(notify.text.get("en"), personal, facts, run)
        return NewDelivery(
            key,
            "notify",
            customer,
            notify.webhook,
            _json({"text": text}),
            endpoint.channel if endpoint.personal_data else None,
            endpoint.purpose if endpoint.personal_data else None,
            None,
            source,
        )
    text = _notify_text(notify.text.get("en"), profile, facts, run)
    payload = {"to": notify.email, "subject": f"[Cible] {run.automation_id}", "text": text}
    return NewDelivery(
        key,
        "notify",
        customer,
        notify.email or "",
        _json(payload),
        "email",
        "marketing",
        None,
        source,
    )


def _notify_text(text: str, profile: dict[str, Any] | None, facts: Facts, run: RunRow) -> str:
    """A team's message, rendered in the templates' bounded sandbox (no HTML).

    ``profile`` None (an endpoint without personal data) leaves the customer's
    profile out: the text then knows their id, segments and tags only.
    """
    context = {
        "customer": _plain(profile) if profile is not None else {"customer_id": run.customer_id},
        "segments": sorted(facts.segments.get(run.customer_id, set())),
        "tags": sorted(facts.tags.get(run.customer_id, set())),
        "automation": run.automation_id,
    }
    return render(compile_text(text, html=False), context)


def _plain(profile: Mapping[str, Any]) -> dict[str, Any]:
    """Profile values as JSON values (dates as ISO text)."""
    return {
        k: v.isoformat() if isinstance(v, datetime | date) else v
        for k, v in profile.items()
        if v is not None
    }


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
