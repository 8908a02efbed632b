"""Audit checks on activity: orders, events and consents.

Dates after the audit's ``as_of``, zero or negative amounts, rows pointing at
customers that do not exist, orders in another currency than the workspace's,
customers with no recent activity, spend outliers, and the share of customers who
granted marketing consent on each channel. All are Ibis expressions.

Outliers use Tukey's far-out fence on the logarithm of amounts: a positive amount
*x* is an outlier when ``log x > Q3 + k * IQR`` of the logs (``k`` = ``[quality]
outlier_iqr_factor``, 3 by default; quartiles interpolated linearly as pandas
does). Quartiles make the fence robust (a few huge orders do not move it), and
logarithms suit money, which is skewed: on the raw scale the same fence calls 6% of
the demo's orders outliers.
"""

from __future__ import annotations

import math
import sys
from datetime import timedelta
from typing import Any

import pandas as pd

from cible.domain.schema import CHANNELS
from cible.features.consent import current_consents
from cible.quality.checks import AuditContext, Check, count_rows, label, literal_time

#: exp() of anything larger overflows a float.
_LOG_MAX_FLOAT = math.log(sys.float_info.max)

_CHANNEL_NAMES = {
    "email": ("e-mail", "e-mail"),
    "sms": ("SMS", "SMS"),
    "phone": ("phone", "téléphone"),
    "post": ("post", "courrier"),
    "push": ("push notifications", "notifications push"),
    "ads": ("advertising", "publicité"),
}


def activity_checks(ctx: AuditContext) -> list[Check]:
    """Every check on orders, events and consents."""
    return [
        *future_dates(ctx),
        non_positive_amounts(ctx),
        *unknown_customers(ctx),
        mixed_currencies(ctx),
        inactive_customers(ctx),
        *spend_outliers(ctx),
        *consent_coverage(ctx),
    ]


def future_dates(ctx: AuditContext) -> list[Check]:
    """Orders, events and consents dated after ``as_of``."""
    moment = literal_time(ctx.as_of)
    checks = []
    for table, column, key, en, fr in (
        (
            "orders",
            "ordered_at",
            "order_id",
            "Orders dated in the future",
            "Commandes datées du futur",
        ),
        (
            "events",
            "timestamp",
            "message_id",
            "Events dated in the future",
            "Événements datés du futur",
        ),
        (
            "consents",
            "recorded_at",
            "customer_id",
            "Consents dated in the future",
            "Consentements datés du futur",
        ),
    ):
        rows = ctx.table(table)
        checks.append(
            count_rows(
                f"validity.future_{table}",
                "validity",
                label(en, fr),
                rows,
                rows[column] > moment,
                key=key,
                shown=column,
            )
        )
    return checks


def non_positive_amounts(ctx: AuditContext) -> Check:
    """Orders with a zero or negative amount."""
    orders = ctx.table("orders")
    return count_rows(
        "validity.amount",
        "validity",
        label("Orders with a zero or negative amount", "Commandes d'un montant nul ou négatif"),
        orders,
        orders.amount <= 0,
        key="order_id",
        shown="amount",
    )


def unknown_customers(ctx: AuditContext) -> list[Check]:
    """Orders, events and consents of customers absent from ``customers``."""
    known = ctx.table("customers").customer_id
    checks = []
    for table, key, en, fr in (
        ("orders", "order_id", "Orders of unknown customers", "Commandes de clients inconnus"),
        ("events", "message_id", "Events of unknown customers", "Événements de clients inconnus"),
        (
            "consents",
            "customer_id",
            "Consents of unknown customers",
            "Consentements de clients inconnus",
        ),
    ):
        rows = ctx.table(table)
        scope = rows.filter(rows.customer_id.notnull())
        checks.append(
            count_rows(
                f"consistency.{table}_unknown_customer",
                "consistency",
                label(en, fr),
                scope,
                ~scope.customer_id.isin(known),
                key=key,
                shown="customer_id" if key != "customer_id" else None,
            )
        )
    return checks


def mixed_currencies(ctx: AuditContext) -> Check:
    """Orders in another currency than the workspace's (``[workspace] currency``)."""
    currency = ctx.config.workspace.currency
    orders = ctx.table("orders")
    scope = orders.filter(orders.currency.notnull())
    return count_rows(
        "consistency.currency",
        "consistency",
        label(
            f"Orders in another currency than {currency}",
            f"Commandes dans une autre devise que {currency}",
        ),
        scope,
        scope.currency.strip().upper() != currency,
        key="order_id",
        shown="currency",
    )


def inactive_customers(ctx: AuditContext) -> Check:
    """Customers with no order and no event in the last ``inactive_days`` (or ever)."""
    days = ctx.config.quality.inactive_days
    moment = literal_time(ctx.as_of)
    since = literal_time(ctx.as_of - timedelta(days=days))
    orders, events = ctx.table("orders"), ctx.table("events")
    recent = (
        orders.filter(orders.ordered_at >= since, orders.ordered_at <= moment)
        .select("customer_id")
        .union(
            events.filter(
                events.customer_id.notnull(), events.timestamp >= since, events.timestamp <= moment
            ).select("customer_id")
        )
    )
    customers = ctx.table("customers")
    if int(orders.count().execute()) + int(events.count().execute()) == 0:
        # No activity loaded at all: nothing to judge customers by.
        customers = customers.limit(0)
    return count_rows(
        "freshness.inactive",
        "freshness",
        label(
            f"Customers with no order or event for {days} days",
            f"Clients sans commande ni événement depuis {days} jours",
        ),
        customers,
        ~customers.customer_id.isin(recent.customer_id),
        key="customer_id",
    )


def spend_outliers(ctx: AuditContext) -> list[Check]:
    """Orders, and customers' total spend, above the far-out fence of log amounts."""
    factor = ctx.config.quality.outlier_iqr_factor
    orders = ctx.table("orders")
    # Zero and negative amounts have no logarithm; validity.amount counts them.
    scope = orders.filter(orders.amount > 0)
    spend = scope.group_by("customer_id").aggregate(total_spend=scope.amount.sum())
    return [
        count_rows(
            "outliers.order_amount",
            "outliers",
            label("Orders with an outlying amount", "Commandes au montant atypique"),
            scope,
            scope.amount > _fence(scope, "amount", factor),
            key="order_id",
            shown="amount",
        ),
        count_rows(
            "outliers.customer_spend",
            "outliers",
            label("Customers with an outlying total spend", "Clients à la dépense totale atypique"),
            spend,
            spend.total_spend > _fence(spend, "total_spend", factor),
            key="customer_id",
            shown="total_spend",
        ),
    ]


def _fence(rows: Any, column: str, factor: float) -> float:
    """``exp(Q3 + factor * IQR)`` of ``log(column)``; infinite when there is no row.

    Computed first, then compared as a number: DuckDB cannot nest the quantiles
    inside the counting aggregate. A fence beyond the float range (amounts near
    1e300, or infinite ones) is infinite too: nothing can lie above it.
    """
    logs = rows[column].ln()
    quartiles = rows.aggregate(q1=logs.quantile(0.25), q3=logs.quantile(0.75)).execute()
    q1, q3 = quartiles.iloc[0]
    if pd.isna(q1) or pd.isna(q3):
        return math.inf
    exponent = float(q3 + factor * (q3 - q1))
    if math.isnan(exponent) or exponent >= _LOG_MAX_FLOAT:
        return math.inf
    return math.exp(exponent)


def consent_coverage(ctx: AuditContext) -> list[Check]:
    """Per channel, customers without a granted marketing consent (shown, not scored).

    The current status per customer, channel and purpose, derived from the ledger,
    counts.
    """
    consents = ctx.table("consents")
    customers = ctx.table("customers")
    current = current_consents(consents)
    latest = current.filter(current.purpose == "marketing")
    checks = []
    for channel in CHANNELS:
        granted = latest.filter(latest.channel == channel, latest.status == "granted")
        en, fr = _CHANNEL_NAMES[channel]
        checks.append(
            count_rows(
                f"consent.{channel}",
                "consent",
                label(
                    f"Customers without marketing consent by {en}",
                    f"Clients sans consentement marketing par {fr}",
                ),
                customers,
                ~customers.customer_id.isin(granted.customer_id),
                key="customer_id",
                scored=False,
            )
        )
    return checks
