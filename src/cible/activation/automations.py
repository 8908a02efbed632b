r"""Automations: saved definitions, the worker pass that runs them, dry runs and logs.

A definition (:mod:`cible.activation.automation_definition`) is checked against the
workspace when it is added: the segments, tags, templates and webhooks it names
must exist. :meth:`Automations.process` is one pass of the worker the server runs
(:mod:`cible.server.automation`): it reads the outbox (segment transitions, tag
changes, matched events), starts a run for each automation whose trigger matches
and whose re-entry policy allows it, moves on the waiting runs whose time has
come, and stores everything it decided in one transaction
(:mod:`cible.activation.automation_engine`). Event triggers are matched as events
are stored (:meth:`Automations.match_events`), in their transaction, so a matched
event is never lost.

Examples
--------
>>> import tempfile
>>> from pathlib import Path
>>> from cible import Workspace
>>> with Workspace.create(Path(tempfile.mkdtemp()) / "shop") as ws:
...     _ = (Path(ws.path) / "c.csv").write_text("customer_id\nc1\n")
...     _ = ws.imports.load("customers", Path(ws.path) / "c.csv")
...     _ = ws.tags.define("hot-lead")
...     _ = ws.tags.define("greeted")
...     _ = ws.automations.add({"id": "greet", "trigger": {"tag": "hot-lead"},
...                             "steps": [{"add_tag": "greeted"}]})
...     _ = ws.tags.apply("hot-lead", ["c1"], actor="cli")
...     done = ws.automations.process()
...     done.started, ws.tags.of(["c1"])
(1, {'c1': ['greeted', 'hot-lead']})
"""

from __future__ import annotations

import builtins
import calendar
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pyarrow as pa

from cible.activation.automation_definition import (
    AutomationDefinition,
    AutomationError,
    DateTrigger,
    EmailStep,
    EventTrigger,
    HasTag,
    InSegment,
    NotifyStep,
    SegmentTrigger,
    TagStep,
    TagTrigger,
    WebhookStep,
    condition_leaves,
    definition_json,
    parse_automation,
    walk_steps,
)
from cible.activation.automation_engine import (
    Context,
    Decided,
    Facts,
    Program,
    Rendered,
    Renderer,
    Unsubscriber,
    advance,
    new_run,
)
from cible.activation.deliveries import consent_states
from cible.activation.event_matching import StoredEvent
from cible.activation.sandbox import check_text
from cible.domain.clock import local_date, utc_now
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import CibleError
from cible.domain.privacy_settings import special_category_problem
from cible.domain.registry import FieldRegistry
from cible.domain.schema import FieldType, Sensitivity
from cible.features.objection import objecting_customers
from cible.features.registry import TRAIT_GROUPS
from cible.store.automations import AutomationRow, LogRow, RunHistory, RunRow
from cible.store.outbox import OutboxRow
from cible.store.runs import TRAITS
from cible.store.store import Store

_log = logging.getLogger(__name__)

#: Outbox rows read per pass.
PASS_ROWS = 5_000
#: How long handled outbox rows are kept.
OUTBOX_KEPT = timedelta(days=7)


@dataclass(frozen=True)
class Pass:
    """What one worker pass did."""

    handled: int
    started: int
    advanced: int
    deliveries: int
    tagged: tuple[str, ...]
    #: False when another process leads the automations (PostgreSQL): nothing done.
    led: bool = True


@dataclass(frozen=True)
class Loaded:
    """A stored automation, parsed."""

    row: AutomationRow
    definition: AutomationDefinition
    program: Program


class Automations:
    """Automations of a workspace (``ws.automations``).

    ``render``, ``unsubscribe``, ``templates`` and ``segments`` are given by the
    workspace (message templates, unsubscribe links, the ids of templates and
    segments that exist); ``on_tagged`` is called with the customers whose tags a pass
    changed, so that their segments are re-evaluated.
    """

    def __init__(
        self,
        store: Store,
        registry: FieldRegistry,
        config: WorkspaceConfig,
        *,
        render: Renderer | None = None,
        unsubscribe: Unsubscriber | None = None,
        templates: Callable[[], Sequence[str]] = tuple,
        segments: Callable[[], Sequence[str]] = tuple,
        on_tagged: Callable[[builtins.list[str]], object] | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._config = config
        self._render = render or _no_templates
        self._unsubscribe = unsubscribe or (lambda customer, channel: "")
        self._templates = templates
        self._segments = segments
        self._on_tagged = on_tagged

    # -- definitions ----------------------------------------------------------------

    def validate(self, source: str | Mapping[str, Any]) -> AutomationDefinition:
        """Parse ``source`` and check the names it uses exist in the workspace, and
        that its event trigger names no product category flagged as special-category
        data (nor a fragment of one, with ``contains``, ``starts_with``...).

        Raises
        ------
        AutomationError
            Naming the path and the reason.
        """
        definition = parse_automation(source)
        segments = set(self._segments())
        tags = {t.name for t in self._store.list_tags()}
        templates = set(self._templates())
        webhooks = set(self._config.webhooks)
        trigger = definition.trigger

        def need(found: bool, path: str, what: str, name: str, known: set[str]) -> None:
            if not found:
                listed = ", ".join(sorted(known)[:20]) or "none yet"
                raise AutomationError(f"{path}: unknown {what} {name!r} (known: {listed})")

        if isinstance(trigger, SegmentTrigger):
            need(
                trigger.segment in segments, "trigger.segment", "segment", trigger.segment, segments
            )
        if isinstance(trigger, TagTrigger):
            need(trigger.tag in tags, "trigger.tag", "tag", trigger.tag, tags)
        if isinstance(trigger, EventTrigger):
            # An event trigger on a flagged product category targets people by what
            # it reveals (health, religion), as a segment rule would: refused alike.
            flagged = self._registry.special_categories
            for i, test in enumerate(trigger.event.where):
                problem = special_category_problem(flagged, test.value, test.op)
                if problem is not None:
                    raise AutomationError(f"trigger.event.where[{i}].value: {problem}")
        if isinstance(trigger, DateTrigger):
            dates = self._date_fields()
            need(trigger.date in dates, "trigger.date", "date field", trigger.date, dates)
        conditions = [("goal", definition.goal)] if definition.goal is not None else []
        for path, step in walk_steps(definition.steps):
            if isinstance(step, TagStep):
                need(step.tag in tags, path, "tag", step.tag, tags)
            elif isinstance(step, EmailStep):
                name = step.email.template
                need(name in templates, f"{path}.email.template", "template", name, templates)
            elif isinstance(step, WebhookStep):
                name = step.webhook.name
                need(name in webhooks, f"{path}.webhook.name", "webhook", name, webhooks)
            elif isinstance(step, NotifyStep):
                if step.notify.webhook is not None:
                    name = step.notify.webhook
                    need(name in webhooks, f"{path}.notify.webhook", "webhook", name, webhooks)
                for lang in ("en", "fr"):
                    text = getattr(step.notify.text, lang)
                    problems = check_text(text) if text is not None else []
                    if problems:
                        raise AutomationError(f"{path}.notify.text.{lang}: {problems[0]}")
            inner = getattr(step, "branch", None) or getattr(step, "wait", None)
            condition = getattr(inner, "if_", None) or getattr(inner, "until", None)
            if condition is not None:
                conditions.append((path, condition))
        for path, condition in conditions:
            for leaf in condition_leaves(condition):
                if isinstance(leaf, InSegment):
                    need(leaf.in_segment in segments, path, "segment", leaf.in_segment, segments)
                elif isinstance(leaf, HasTag):
                    need(leaf.tag in tags, path, "tag", leaf.tag, tags)
        return definition

    def add(self, source: str | Mapping[str, Any], *, actor: str = "cli") -> dict[str, Any]:
        """Validate and save an automation (active, or as paused as it was); returns it."""
        definition = self.validate(source)
        version = self._store.save_automation(
            definition.id, definition_json(definition), at=utc_now(), actor=actor
        )
        _CACHE.clear()
        saved = {**self.get(definition.id), "version": version, "notes": []}
        trigger = definition.trigger
        if isinstance(trigger, SegmentTrigger) and trigger.segment in (
            self._store.unevaluated_segments()
        ):
            saved["notes"].append(
                f"Segment {trigger.segment!r} was added or changed since the latest run: "
                "its members are not reported as entering, so this automation starts "
                "after the next run (`cible run`)."
            )
        return saved

    def get(self, automation_id: str) -> dict[str, Any]:
        """One automation: definition, status, version and counts of runs by status."""
        loaded = self._find(automation_id)
        counts = self._store.automation_run_counts(automation_id)
        return {
            "id": automation_id,
            "name": loaded.definition.label("en"),
            "status": loaded.row.status,
            "version": loaded.row.version,
            "updated_at": loaded.row.updated_at,
            "updated_by": loaded.row.updated_by,
            "trigger": loaded.definition.to_dict()["trigger"],
            "runs": counts,
            "definition": loaded.definition.to_dict(),
        }

    def list(self) -> builtins.list[dict[str, Any]]:
        """Every automation: id, name, status, version, trigger."""
        return [
            {
                "id": a.row.automation_id,
                "name": a.definition.label("en"),
                "status": a.row.status,
                "version": a.row.version,
                "trigger": a.definition.to_dict()["trigger"],
            }
            for a in self._load()
        ]

    def using_template(self, template_id: str) -> builtins.list[str]:
        """The automations with an e-mail step sending ``template_id``."""
        return [
            a.row.automation_id
            for a in self._load()
            if any(
                isinstance(step, EmailStep) and step.email.template == template_id
                for _, step in walk_steps(a.definition.steps)
            )
        ]

    def pause(self, automation_id: str, *, actor: str = "cli") -> None:
        """Stop starting and moving runs; waiting runs keep their place."""
        self._set_status(automation_id, "paused", actor)

    def resume(self, automation_id: str, *, actor: str = "cli") -> None:
        """Start and move runs again; runs whose wait ended meanwhile move at once."""
        self._set_status(automation_id, "active", actor)

    def remove(self, automation_id: str) -> None:
        """Delete an automation; its runs stop, their log stays."""
        self._find(automation_id)
        self._store.delete_automation(automation_id)
        _CACHE.clear()

    def _set_status(self, automation_id: str, status: str, actor: str) -> None:
        self._find(automation_id)
        self._store.set_automation_status(automation_id, status, at=utc_now(), actor=actor)
        _CACHE.clear()

    def runs(
        self, automation_id: str | None = None, *, customer_id: str | None = None, limit: int = 50
    ) -> builtins.list[RunRow]:
        """The latest runs of an automation and/or a customer."""
        if automation_id is not None:
            self._find(automation_id)
        return self._store.automation_runs(
            automation_id=automation_id, customer_id=customer_id, limit=limit
        )

    def log(
        self,
        automation_id: str | None = None,
        *,
        customer_id: str | None = None,
        run_id: str | None = None,
        limit: int = 200,
    ) -> builtins.list[LogRow]:
        """Every step taken or skipped, oldest first (the latest ``limit``)."""
        return self._store.automation_log(
            automation_id=automation_id, customer_id=customer_id, run_id=run_id, limit=limit
        )

    def dry_run(self, automation_id: str, customer_id: str) -> builtins.list[dict[str, Any]]:
        """Every step the automation would take for the customer now, writing nothing.

        Waits are passed over (said), branches read the customer's current segments
        and tags, messages are rendered and the consent they would be checked against
        is shown. A delivery's step says its ``target`` (the address or endpoint it
        would go to) and its ``payload``: both quote the customer's contact values,
        which the server masks for the roles that may not read them.
        """
        loaded = self._find(automation_id)
        facts = self._facts([customer_id])
        if customer_id not in facts.profiles:
            raise CibleError(f"No customer {customer_id!r} in this workspace.")
        now = utc_now()
        run = new_run(loaded.definition, loaded.row.version, customer_id, "dry run", now)
        run.run_id = "dry-run"
        decided = advance(
            run,
            loaded.program,
            loaded.definition,
            facts,
            now=now,
            context=self._context(),
            dry=True,
        )
        consents = consent_states(self._store, [customer_id])
        steps: builtins.list[dict[str, Any]] = [
            {"step": e.step, "action": e.action, "outcome": e.outcome, "detail": e.detail}
            for e in decided.log
        ]
        for delivery in decided.deliveries:
            consent = None
            if delivery.consent_channel is not None:
                key = (customer_id, delivery.consent_channel, delivery.consent_purpose)
                consent = consents.get(key) or "no consent record"
            steps.append(
                {
                    "step": "delivery",
                    "action": delivery.kind,
                    "outcome": "would send" if consent in (None, "granted") else "would skip",
                    "detail": f"{delivery.target}; consent: {consent or 'not needed'}",
                    # Said apart so that the server masks it by the delivery's kind.
                    "target": delivery.target,
                    "payload": json.loads(delivery.payload),
                }
            )
        return steps

    # -- the worker -----------------------------------------------------------------

    def process(
        self, *, now: datetime | None = None, limit: int = PASS_ROWS, dates: bool = False
    ) -> Pass:
        """One pass: handle the outbox, move waiting runs on, store it all at once.

        With ``dates``, date triggers are checked too: customers whose date (plus the
        trigger's offset) is today in the workspace's time zone start their run,
        once that day. The server's worker asks for it once a day.
        """
        moment = now or utc_now()
        if not self._store.leads("automations"):
            # Another server sharing the workspace handles the outbox (PostgreSQL).
            return Pass(0, 0, 0, 0, (), led=False)
        if dates:
            # Handled outbox rows are kept a week for inspection, then let go.
            self._store.prune_outbox(before=moment - OUTBOX_KEPT)
        rows = self._store.pending_transitions(limit=limit)
        active = [a for a in self._load() if a.row.status == "active"]
        due = self._store.due_automation_runs(now=moment, limit=limit)
        starts: list[tuple[Loaded, str, str]] = self._dated(active, moment) if dates else []
        if not rows and not due and not starts:
            return Pass(0, 0, 0, 0, ())
        by_id = {a.row.automation_id: a for a in active}
        for row in rows:
            for automation in active:
                trigger = _matches(automation, row)
                if trigger is not None:
                    starts.append((automation, row.customer_id, trigger))
        # A waiting run ends as soon as its goal holds: goals read segments and tags,
        # which change only with an outbox row of the customer.
        with_goal = [a.row.automation_id for a in active if a.definition.goal is not None]
        touched = sorted({r.customer_id for r in rows if r.customer_id is not None})
        due_ids = {r.run_id for r in due}
        waiting = [
            r
            for r in (
                self._store.waiting_automation_runs(with_goal, touched)
                if with_goal and touched
                else []
            )
            if r.run_id not in due_ids
        ]
        customers = sorted(
            {c for _, c, _ in starts}
            | {r.customer_id for r in due}
            | {r.customer_id for r in waiting}
        )
        decided = Decided()
        runs: list[RunRow] = []
        # A customer who objects to profiling is subject to no automated decision:
        # no run starts, and their waiting runs end, each logged with the reason.
        objecting = self.objecting(customers, moment)
        if objecting:
            starts = _set_aside(starts, due, waiting, objecting, moment, decided)
            runs.extend(r for r in (*due, *waiting) if r.customer_id in objecting)
            due = [r for r in due if r.customer_id not in objecting]
            waiting = [r for r in waiting if r.customer_id not in objecting]
            customers = [c for c in customers if c not in objecting]
        facts = self._facts(customers) if customers else Facts({}, {}, {})
        pairs = sorted({(a.row.automation_id, c) for a, c, _ in starts})
        history = self._store.automation_histories(pairs)
        context = self._context()
        started = 0
        for automation, customer, trigger in starts:
            key = (automation.row.automation_id, customer)
            if not _may_enter(automation.definition, history.get(key), moment):
                continue
            run = new_run(automation.definition, automation.row.version, customer, trigger, moment)
            decided.extend(_advanced(run, automation, facts, moment, context))
            runs.append(run)
            started += 1
            # A second trigger in the same pass finds this run going.
            history[key] = _entered(history.get(key), moment, run.status)
        for run in due:
            owner = by_id.get(run.automation_id)
            if owner is None:
                continue
            decided.extend(_advanced(run, owner, facts, moment, context))
            runs.append(run)
        for run in waiting:
            goal = by_id[run.automation_id].definition.goal
            if goal is not None and facts.holds(goal, run.customer_id):
                run.status, run.resume_at, run.updated_at, run.ended_at = (
                    "goal",
                    None,
                    moment,
                    moment,
                )
                decided.log.append(
                    LogRow(
                        run.run_id,
                        run.automation_id,
                        run.customer_id,
                        moment,
                        "goal",
                        "goal",
                        "reached",
                        "the goal holds: the run ends",
                    )
                )
                runs.append(run)
        self._store.commit_automations(
            outbox_ids=[r.outbox_id for r in rows],
            runs=runs,
            log_rows=decided.log,
            tag_changes=decided.tag_changes,
            deliveries=decided.deliveries,
            at=moment,
        )
        tagged = tuple(sorted({c.customer_id for c in decided.tag_changes}))
        if tagged and self._on_tagged is not None:
            self._on_tagged(list(tagged))
        return Pass(len(rows), started, len(due), len(decided.deliveries), tagged)

    def objecting(self, customers: Sequence[str], moment: datetime) -> set[str]:
        """Those of ``customers`` who object to profiling at ``moment``."""
        if not customers:
            return set()
        ledger = self._store.table("consents")
        mine = ledger.filter(ledger.customer_id.isin(sorted(set(customers))))
        found = objecting_customers(mine, moment).to_pyarrow().column(0).to_pylist()
        return {str(c) for c in found}

    def _dated(
        self, active: Sequence[Loaded], moment: datetime
    ) -> builtins.list[tuple[Loaded, str, str]]:
        """Starts of the date triggers due today (each customer once a day)."""
        today = local_date(moment, self._config.workspace.zone)
        starts = []
        for automation in active:
            trigger = automation.definition.trigger
            if not isinstance(trigger, DateTrigger):
                continue
            # The date that, moved by the offset, falls today.
            wanted = today - timedelta(days=trigger.offset_days)
            label = f"date {trigger.date} {today.isoformat()}"
            done = self._store.automation_started(automation.row.automation_id, label)
            for customer in self._customers_on(trigger.date, wanted, yearly=trigger.yearly):
                if customer not in done:
                    starts.append((automation, customer, label))
        return starts

    def _customers_on(self, field: str, day: date, *, yearly: bool) -> builtins.list[str]:
        customers = self._store.table("customers")
        if field in customers.columns:
            table = customers
        elif self._store.has_run():
            table = self._store.table(TRAITS)
        else:
            return []
        value = table[field].cast("date")
        if yearly:
            hit = (value.month() == day.month) & (value.day() == day.day)
            if (day.month, day.day) == (2, 28) and not calendar.isleap(day.year):
                # Born on 29 February: celebrated on the 28th in common years.
                hit = hit | ((value.month() == 2) & (value.day() == 29))
        else:
            hit = value == day
        found = table.filter(hit.fill_null(False)).select("customer_id")
        return sorted(str(i) for i in found.to_pyarrow().column(0).to_pylist())

    def match_events(self, rows: pa.Table) -> pa.Table:
        """The (``customer_id``, ``message_id``, ``automation_id``) of events that start
        an active automation, among new ``events`` rows (see :mod:`cible.store.events`).

        An anonymous event of a visitor already linked to a customer (``identify``,
        ``alias``) is that customer's; events of unknown visitors start nothing.
        """
        matchers = [
            (a.row.automation_id, a.definition.trigger.event)
            for a in self._load()
            if a.row.status == "active" and isinstance(a.definition.trigger, EventTrigger)
        ]
        found: dict[str, list[str]] = {"customer_id": [], "message_id": [], "automation_id": []}
        if matchers and rows.num_rows:
            columns = rows.select(
                [
                    "customer_id",
                    "anonymous_id",
                    "message_id",
                    "type",
                    "event",
                    "properties",
                    "context",
                ]
            ).to_pydict()
            hits: list[tuple[int, str]] = []
            for i in range(rows.num_rows):
                event = StoredEvent(
                    columns["type"][i],
                    columns["event"][i],
                    columns["properties"][i],
                    columns["context"][i],
                )
                hits.extend(
                    (i, automation_id) for automation_id, match in matchers if event.matches(match)
                )
            # A known visitor's event without a user id is theirs: the identity links say.
            anonymous = {
                columns["anonymous_id"][i]
                for i, _ in hits
                if columns["customer_id"][i] is None and columns["anonymous_id"][i] is not None
            }
            linked = self._linked(sorted(anonymous)) if anonymous else {}
            for i, automation_id in hits:
                customer = columns["customer_id"][i] or linked.get(columns["anonymous_id"][i])
                if customer is None:
                    continue
                found["customer_id"].append(customer)
                found["message_id"].append(columns["message_id"][i])
                found["automation_id"].append(automation_id)
        return pa.table(found, schema=MATCH_SCHEMA)

    # -- helpers --------------------------------------------------------------------

    def _linked(self, anonymous_ids: Sequence[str]) -> dict[str, str]:
        """The customer each anonymous id was last linked to (identify, alias)."""
        links = self._store.table("identities")
        mine = links.filter(links.anonymous_id.isin(list(anonymous_ids)))
        latest = mine.group_by("anonymous_id").aggregate(
            customer_id=mine.customer_id.argmax(mine.linked_at)
        )
        return {r["anonymous_id"]: r["customer_id"] for r in latest.to_pyarrow().to_pylist()}

    def _context(self) -> Context:
        return Context(self._config.webhooks, self._render, self._unsubscribe)

    def _facts(self, customers: Sequence[str]) -> Facts:
        profiles, segments = self._store.customer_facts(customers)
        special = {
            f.name
            for f in self._registry.table("customers").fields
            if f.sensitivity is Sensitivity.SPECIAL
        }
        # Special-category fields never leave in a message or a webhook.
        kept = {c: {k: v for k, v in p.items() if k not in special} for c, p in profiles.items()}
        tags = {c: set(t) for c, t in self._store.current_tags(customers).items()}
        known = {t.name for t in self._store.list_tags()}
        return Facts(kept, segments, tags, known_tags=known)

    def _date_fields(self) -> set[str]:
        fields = self._registry.table("customers").fields
        dates = {f.name for f in fields if f.type in (FieldType.DATE, FieldType.TIMESTAMP)}
        traits = (t for group in TRAIT_GROUPS.values() for t in group)
        return dates | {t.name for t in traits if t.dtype == "timestamp"}

    def _find(self, automation_id: str) -> Loaded:
        loaded = next((a for a in self._load() if a.row.automation_id == automation_id), None)
        if loaded is None:
            known = ", ".join(a.row.automation_id for a in self._load()) or "none yet"
            raise AutomationError(f"Unknown automation {automation_id!r} (known: {known}).")
        return loaded

    def _load(self) -> builtins.list[Loaded]:
        key = (id(self._store), self._store.automations_fingerprint())
        cached = _CACHE.get(key)
        if cached is not None:
            return cached
        loaded = []
        for row in self._store.list_automations():
            definition = parse_automation(json.loads(row.definition))
            loaded.append(Loaded(row, definition, Program.of(definition)))
        _CACHE.clear()
        _CACHE[key] = loaded
        return loaded


#: Parsed automations by (store, fingerprint): parsing on every event batch costs.
_CACHE: dict[tuple[Any, ...], builtins.list[Loaded]] = {}

MATCH_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("message_id", pa.string()), ("automation_id", pa.string())]
)


def _advanced(
    run: RunRow, automation: Loaded, facts: Facts, moment: datetime, context: Context
) -> Decided:
    """:func:`advance` one run; a step that fails (a template removed since, a text
    that cannot render for this customer) ends that run as ``failed``, logged with
    its reason, and leaves the others of the pass alone."""
    position = run.position
    try:
        return advance(
            run, automation.program, automation.definition, facts, now=moment, context=context
        )
    except Exception as error:  # one customer's run must not stop every automation
        reason = str(error) if isinstance(error, CibleError) else type(error).__name__
        if not isinstance(error, CibleError):
            _log.exception("Automation %s failed for one run", run.automation_id)
        step = json.loads(position).get("pc", 0)
        run.status, run.resume_at, run.updated_at, run.ended_at = "failed", None, moment, moment
        failed = Decided()
        failed.log.append(
            LogRow(
                run.run_id,
                run.automation_id,
                run.customer_id,
                moment,
                f"pc {step}",
                "step",
                "failed",
                reason[:500],
            )
        )
        return failed


#: The reason logged when an automation leaves a customer alone for their objection.
OBJECTION = "objection"


def _set_aside(
    starts: builtins.list[tuple[Loaded, str, str]],
    due: Sequence[RunRow],
    waiting: Sequence[RunRow],
    objecting: set[str],
    moment: datetime,
    decided: Decided,
) -> builtins.list[tuple[Loaded, str, str]]:
    """Log the starts skipped and end the runs of customers who object to profiling.

    Returns the starts that remain; the runs of objectors are ended in place (status
    ``objection``), for the caller to store.
    """
    kept = []
    for automation, customer, trigger in starts:
        if customer not in objecting:
            kept.append((automation, customer, trigger))
            continue
        decided.log.append(
            LogRow(
                None,
                automation.row.automation_id,
                customer,
                moment,
                "trigger",
                "start",
                "skipped",
                f"{OBJECTION}: the customer objects to profiling ({trigger})",
            )
        )
    for run in (*due, *waiting):
        if run.customer_id not in objecting:
            continue
        run.status, run.resume_at, run.updated_at, run.ended_at = OBJECTION, None, moment, moment
        decided.log.append(
            LogRow(
                run.run_id,
                run.automation_id,
                run.customer_id,
                moment,
                "run",
                "end",
                "skipped",
                f"{OBJECTION}: the customer objects to profiling; the run ends",
            )
        )
    return kept


def _no_templates(
    template: str, customer: str, lang: str | None, extra: dict[str, Any]
) -> Rendered:
    raise CibleError(f"Template {template!r} cannot be rendered: no templates in this context.")


def _matches(automation: Loaded, row: OutboxRow) -> str | None:
    """How ``row`` starts the automation (a description), or None.

    Only what happened since the automation was saved, paused or resumed counts: a
    new automation does not start on last week's transitions, nor a resumed one on
    what happened while it was paused.
    """
    definition = automation.definition
    if row.occurred_at < automation.row.updated_at:
        return None
    trigger = definition.trigger
    if isinstance(trigger, SegmentTrigger):
        hit = row.kind == "segment" and row.segment_id == trigger.segment
        return (
            f"segment {trigger.segment} {trigger.on}"
            if hit and row.transition == trigger.on
            else None
        )
    if isinstance(trigger, TagTrigger):
        hit = row.kind == "tag" and row.subject == trigger.tag
        return f"tag {trigger.tag} {trigger.on}" if hit and row.transition == trigger.on else None
    if isinstance(trigger, EventTrigger) and row.kind == "event":
        return f"event {row.subject}" if row.transition == definition.id else None
    return None


def _may_enter(definition: AutomationDefinition, past: Any, now: datetime) -> bool:
    if past is None or past.runs == 0:
        return True
    if past.running or definition.reentry == "once":
        return False
    if definition.reentry_days is not None and past.last_started_at is not None:
        waited = (now - past.last_started_at).total_seconds()
        return bool(waited >= definition.reentry_days * 86_400)
    return True


def _entered(past: Any, now: datetime, status: str) -> Any:
    runs = past.runs if past is not None else 0
    return RunHistory(runs + 1, now, status in ("active", "waiting"))
