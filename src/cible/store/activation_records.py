"""What activation reads and writes: tags, campaigns, automations, deliveries and
message templates, as methods of the :class:`~cible.store.store.Store`.

A part of the Store kept in its own module for size: :class:`ActivationRecords` is
one of the Store's bases, and each method hands the Store's connection to the
module that holds the area's SQL (:mod:`cible.store.tags`, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from cible.store import automations, campaigns, deliveries, runs, tags, templates
from cible.store.connected import Connected


class ActivationRecords(Connected):
    """The activation half of the Store's methods (see the module's description)."""

    # Tags --------------------------------------------------------------------------

    def list_tags(self) -> list[tags.TagRow]:
        """Every tag definition, by name."""
        return tags.list_tags(self.connection)

    def save_tag(self, tag: tags.TagRow) -> None:
        """Create or replace a tag definition."""
        tags.save_tag(self.connection, tag)

    def rename_tag(self, old: str, new: str) -> int:
        """Rename a tag in its definition and its ledger, atomically."""
        with self.transaction():
            return tags.rename_tag(self.connection, old, new)

    def delete_tag(self, name: str) -> None:
        """Forget a tag definition; its ledger stays."""
        tags.delete_tag(self.connection, name)

    def record_tag_changes(
        self, changes: Sequence[tags.TagChange], *, at: datetime, actor: str, source: str
    ) -> int:
        """Append tag changes to the ledger and the outbox, in one transaction."""
        with self.transaction():
            return tags.record_changes(self.connection, changes, at=at, actor=actor, source=source)

    def tag_carriers(self, tag: str) -> list[str]:
        """Ids of the customers carrying ``tag`` now."""
        return tags.carriers(self.connection, tag)

    def tag_carrier_counts(self) -> dict[str, int]:
        """How many customers carry each tag now."""
        return tags.carrier_counts(self.connection)

    def unknown_customers(self, customer_ids: Sequence[str]) -> list[str]:
        """The ids among ``customer_ids`` that no customer has."""
        return tags.unknown_customers(self.connection, customer_ids)

    def current_tags(self, customer_ids: Sequence[str]) -> dict[str, list[str]]:
        """The tags each customer carries now."""
        return tags.current_tags(self.connection, customer_ids)

    # Campaigns ---------------------------------------------------------------------

    def list_campaigns(self) -> list[campaigns.CampaignRow]:
        """Every stored campaign, by id."""
        return campaigns.list_campaigns(self.connection)

    def save_campaign(
        self, campaign_id: str, definition: str, *, status: str, at: datetime, actor: str
    ) -> int:
        """Create or replace a campaign's definition; its version."""
        return campaigns.save_campaign(
            self.connection, campaign_id, definition, status=status, at=at, actor=actor
        )

    def set_campaign_status(
        self, campaign_id: str, status: str, *, at: datetime, actor: str
    ) -> bool:
        """Pause or end a campaign (launching goes through :meth:`launch_campaign`)."""
        return campaigns.set_status(self.connection, campaign_id, status, at=at, actor=actor)

    def campaign_eligible(self, campaign_id: str) -> set[str]:
        """Customers of a campaign's assignment who are eligible now."""
        return campaigns.eligible_customers(self.connection, campaign_id)

    def launch_campaign(
        self,
        campaign_id: str,
        assignments: pa.Table,
        exclusions: Sequence[tuple[str, Sequence[str], str]],
        *,
        at: datetime,
        actor: str,
    ) -> None:
        """Store a campaign's assignment, the customers other campaigns lose to it, and
        its status ``live``, in one transaction."""
        campaigns.launch(self.connection, campaign_id, assignments, exclusions, at=at, actor=actor)

    def campaign_assignment_counts(
        self, campaign_id: str
    ) -> list[tuple[str, bool, str | None, int]]:
        """``(arm, eligible, reason, customers)`` of a campaign's assignment."""
        return campaigns.assignment_counts(self.connection, campaign_id)

    def campaign_assignments(
        self, campaign_id: str, *, customer_id: str | None = None, limit: int | None = None
    ) -> list[campaigns.AssignmentRow]:
        """Assignment rows of a campaign, of one customer when given."""
        return campaigns.assignments(
            self.connection, campaign_id, customer_id=customer_id, limit=limit
        )

    def campaign_delivery_counts(
        self, campaign_id: str
    ) -> list[tuple[str, str | None, str, str | None, int]]:
        """``(variant, segment, status, skip reason, deliveries)`` of what a campaign queued."""
        return campaigns.delivery_counts(self.connection, campaign_id)

    # Automations -------------------------------------------------------------------

    def list_automations(self) -> list[automations.AutomationRow]:
        """Every stored automation, by id."""
        return automations.list_automations(self.connection)

    def automations_fingerprint(self) -> tuple[Any, ...]:
        """A value that changes whenever an automation is saved, paused or resumed."""
        return automations.fingerprint(self.connection)

    def save_automation(
        self, automation_id: str, definition: str, *, at: datetime, actor: str
    ) -> int:
        """Create or replace an automation (its running runs stop when it changed)."""
        return automations.save_automation(
            self.connection, automation_id, definition, at=at, actor=actor
        )

    def set_automation_status(
        self, automation_id: str, status: str, *, at: datetime, actor: str
    ) -> bool:
        """Pause (``paused``) or resume (``active``) an automation."""
        return automations.set_status(self.connection, automation_id, status, at=at, actor=actor)

    def delete_automation(self, automation_id: str) -> bool:
        """Remove an automation; its runs stop, runs and log stay."""
        return automations.delete_automation(self.connection, automation_id)

    def automation_histories(
        self, pairs: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], automations.RunHistory]:
        """Past runs per (automation, customer), for re-entry."""
        return automations.histories(self.connection, pairs)

    def unevaluated_segments(self) -> set[str]:
        """Segments added or changed since the latest run."""
        return runs.unevaluated_segments(self.connection)

    def automation_run_counts(self, automation_id: str) -> dict[str, int]:
        """Runs of an automation by status."""
        return automations.run_counts(self.connection, automation_id)

    def automation_started(self, automation_id: str, trigger: str) -> set[str]:
        """Customers whose run of the automation was started by ``trigger``."""
        return automations.started(self.connection, automation_id, trigger)

    def waiting_automation_runs(
        self, automation_ids: Sequence[str], customer_ids: Sequence[str]
    ) -> list[automations.RunRow]:
        """Waiting runs of some automations for some customers."""
        return automations.waiting_runs(self.connection, automation_ids, customer_ids)

    def due_automation_runs(self, *, now: datetime, limit: int) -> list[automations.RunRow]:
        """Waiting runs of active automations whose time has come."""
        return automations.due_runs(self.connection, now=now, limit=limit)

    def automation_runs(
        self, *, automation_id: str | None, customer_id: str | None, limit: int
    ) -> list[automations.RunRow]:
        """The latest runs, filtered."""
        return automations.runs(
            self.connection, automation_id=automation_id, customer_id=customer_id, limit=limit
        )

    def automation_log(
        self,
        *,
        automation_id: str | None,
        customer_id: str | None,
        run_id: str | None,
        limit: int,
    ) -> list[automations.LogRow]:
        """The latest automation log rows, oldest first."""
        return automations.log(
            self.connection,
            automation_id=automation_id,
            customer_id=customer_id,
            run_id=run_id,
            limit=limit,
        )

    def customer_facts(
        self, customer_ids: Sequence[str]
    ) -> tuple[dict[str, dict[str, Any]], dict[str, set[str]]]:
        """Profiles and open memberships of a few customers (index look-ups)."""
        return automations.customer_facts(self.connection, customer_ids)

    def commit_automations(
        self,
        *,
        outbox_ids: Sequence[int],
        runs: Sequence[automations.RunRow],
        log_rows: Sequence[automations.LogRow],
        tag_changes: Sequence[tags.TagChange],
        deliveries: Sequence[deliveries.NewDelivery],
        at: datetime,
    ) -> None:
        """Store one automation pass (outbox handled, runs, log, tags, deliveries) at once."""
        automations.commit_batch(
            self.connection,
            outbox_ids=outbox_ids,
            runs=runs,
            log_rows=log_rows,
            tag_changes=tag_changes,
            new_deliveries=deliveries,
            at=at,
        )

    # Deliveries --------------------------------------------------------------------

    def enqueue_deliveries(self, rows: Sequence[deliveries.NewDelivery], *, at: datetime) -> int:
        """Add deliveries whose idempotency key is new (in the caller's transaction)."""
        return deliveries.enqueue(self.connection, rows, at=at)

    def due_deliveries(
        self, *, now: datetime, limit: int, exclude: Sequence[int] = ()
    ) -> list[deliveries.DeliveryRow]:
        """Pending deliveries due at ``now``, oldest due first, except those ``exclude``
        names (being sent); claiming writes nothing, so a restart sends them again."""
        return deliveries.due(self.connection, now=now, limit=limit, exclude=exclude)

    def sent_counts(
        self,
        customer_ids: Sequence[str],
        *,
        channel: str,
        since: datetime,
        in_flight: Sequence[int] = (),
    ) -> dict[str, int]:
        """Per customer, deliveries on ``channel`` delivered since ``since`` or in flight."""
        return deliveries.sent_counts(
            self.connection, customer_ids, channel=channel, since=since, in_flight=in_flight
        )

    def record_deliveries(self, outcomes: Sequence[deliveries.Outcome]) -> None:
        """Store how deliveries' tries ended, and their attempts, in one transaction."""
        deliveries.record(self.connection, outcomes)

    def delivery(self, delivery_id: int) -> deliveries.DeliveryRow | None:
        """One delivery, or None."""
        return deliveries.get(self.connection, delivery_id)

    def delivery_attempts(self, delivery_id: int) -> list[deliveries.AttemptRow]:
        """A delivery's attempts, first first."""
        return deliveries.attempts(self.connection, delivery_id)

    def list_deliveries(
        self,
        *,
        status: str | None = None,
        customer_id: str | None = None,
        kind: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[deliveries.DeliveryRow]:
        """Deliveries, newest first, matching every filter given."""
        return deliveries.list_deliveries(
            self.connection,
            status=status,
            customer_id=customer_id,
            kind=kind,
            limit=limit,
            offset=offset,
        )

    def retry_delivery(self, delivery_id: int, *, now: datetime) -> bool:
        """Make a failed delivery pending again; False when it is not failed."""
        return deliveries.retry(self.connection, delivery_id, now=now)

    # Templates ---------------------------------------------------------------------

    def save_template(self, template_id: str, definition: str, *, at: datetime, actor: str) -> None:
        """Create or replace a message template (its validated definition, as JSON)."""
        templates.save(self.connection, template_id, definition, at=at, actor=actor)

    def delete_template(self, template_id: str) -> bool:
        """Remove a message template; whether it existed."""
        return templates.delete(self.connection, template_id)

    def template(self, template_id: str) -> templates.TemplateRow | None:
        """The stored message template ``template_id``, or None."""
        return templates.get(self.connection, template_id)

    def list_templates(self) -> list[templates.TemplateRow]:
        """Every stored message template, by id."""
        return templates.list_templates(self.connection)

    def template_context(
        self, customer_id: str, fields: Sequence[str]
    ) -> templates.CustomerContext | None:
        """One customer's profile ``fields``, latest traits and open memberships, by id."""
        return templates.customer_context(self.connection, customer_id, fields)

    def segment_sample(self, segment_id: str, limit: int) -> list[str]:
        """The first ``limit`` current members of a segment, by customer id."""
        return templates.segment_sample(self.connection, segment_id, limit)
