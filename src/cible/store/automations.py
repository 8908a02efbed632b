"""Automations as stored data, their runs per customer and the log of every step.

``automations`` keeps each definition (JSON, validated by
:mod:`cible.activation.automations` before it is saved) with its status
(``active`` or ``paused``). ``automation_runs`` holds one row per customer taken
through an automation: where it stands (``position``, the next step), until when it
waits (``resume_at``) and how it ended. ``automation_log`` is append-only: each step
taken or skipped, with its outcome and why.
"""

from __future__ import annotations

CREATE = (
    """
    CREATE TABLE IF NOT EXISTS automations (
      automation_id VARCHAR, definition VARCHAR, status VARCHAR, version INTEGER,
      updated_at TIMESTAMP, updated_by VARCHAR
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS automation_runs (
      run_id VARCHAR, automation_id VARCHAR, version INTEGER, customer_id VARCHAR,
      trigger VARCHAR, status VARCHAR, position VARCHAR, resume_at TIMESTAMP,
      started_at TIMESTAMP, updated_at TIMESTAMP, ended_at TIMESTAMP
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS automation_log (
      run_id VARCHAR, automation_id VARCHAR, customer_id VARCHAR, logged_at TIMESTAMP,
      step VARCHAR, action VARCHAR, outcome VARCHAR, detail VARCHAR
    )
    """,
)
