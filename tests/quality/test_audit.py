"""The audit on a small hand-made workspace with planted mistakes, against pandas.

Every check's counts are recomputed here from the stored tables with pandas, written
independently of the Ibis expressions; a few planted mistakes are also named so that
a reference sharing a bug with the code would still be caught.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cible import Workspace
from cible.domain.schema import CHANNELS
from cible.quality.audit import AuditReport
from cible.quality.normalisation import (
    check_postcode,
    normalise_country,
    normalise_email,
    normalise_phone,
)
from cible.quality.score import FORMULA, SEVERITY

AS_OF = datetime(2025, 1, 15)

CUSTOMERS = """\
customer_id;email;phone;first_name;last_name;birth_date;gender;postal_code;city;country;created_at;updated_at
C01;anne.martin@orange.fr;06 12 34 56 78;Anne;MARTIN;12/03/1985;female;75011;Paris;France;01/01/2020;01/06/2024
C02; ANNE.MARTIN@orange.fr ;+33 6 12 34 56 78;anne;martin;12/03/1985;female;75011;paris;FR;01/02/2021;01/02/2021
C03;paul@@free.fr;06 12 AB 56 78;Paul;Durand;01/01/1890;male;7501;Lyon;FR;01/03/2022;01/03/2024
C04;;;Léa;Petit;;female;1000;Bruxelles;Belgique;01/04/2022;01/04/2024
C05;julie@exemple.fr;0612;Julie;Roux;01/01/2015;female;SW1A 1AA;London;Royaume-Uni;01/05/2022;01/05/2024
C06;marc@free.fr;07 98 76 54 32;Marc;Blanc;05/05/1970;male;2000;Anvers;Narnia;01/06/2022;01/06/2024
C07;zoe@gmail.com;;Zoé;Faure;31/12/2030;female;69001;Lyon;FR;01/01/2026;01/07/2024
C08;hugo@gmail.com;06 98 76 54 32;Hugo;Lambert;16/01/2010;;69002;Lyon;;01/08/2022;01/08/2024
C09;ines@gmail.com;06 11 22 33 44;Inès;Girard;15/01/2010;female;33000;Bordeaux;FR;01/09/2022;01/09/2024
C10;theo.leroy@sfr.fr;06 55 44 33 22;Théo;Leroy;01/01/1915;male;13001;Marseille;FR;01/10/2022;01/10/2022
C11;nina@gmail.com;06 55 44 33 23;Nina;Leroy;02/02/1990;female;13001;Marseille;FR;01/10/2022;01/12/2024
"""

ORDERS = """\
order_id;customer_id;ordered_at;amount;currency;status
O01;C01;01/12/2024;20,00;EUR;completed
O02;C01;05/12/2024;25,00;EUR;completed
O03;C02;01/11/2024;30,00;EUR;completed
O04;C03;01/10/2024;35,00;EUR;completed
O05;C03;01/09/2024;40,00;EUR;completed
O06;C05;01/08/2024;45,00;EUR;completed
O07;C06;01/07/2024;50,00;eur;completed
O08;C08;01/06/2024;55,00;EUR;completed
O09;C09;01/05/2024;60,00;USD;completed
O10;C10;01/01/2023;5000,00;EUR;completed
O11;C10;01/02/2023;0,00;EUR;completed
O12;C99;01/12/2024;22,00;EUR;completed
O13;C11;01/03/2026;41,00;EUR;pending
"""

EVENTS = """\
message_id;customer_id;anonymous_id;event;timestamp
E1;C04;;page_viewed;10/01/2025
E2;C98;;page_viewed;10/01/2025
E3;;anon-1;page_viewed;10/01/2025
E4;C07;;page_viewed;01/02/2026
E5;C11;;page_viewed;01/06/2023
"""

CONSENTS = """\
customer_id;channel;purpose;status;updated_at
C01;email;marketing;granted;01/01/2024
C02;email;marketing;denied;01/01/2024
C03;sms;marketing;granted;01/01/2024
C01;email;profiling;granted;01/01/2024
C04;email;marketing;withdrawn;01/01/2024
C05;email;marketing;granted;01/01/2024
C97;email;marketing;granted;01/01/2024
C06;post;marketing;granted;01/03/2026
"""


@pytest.fixture(scope="module")
def audited(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[AuditReport, dict[str, pd.DataFrame]]:
    folder: Path = tmp_path_factory.mktemp("audit")
    with Workspace.create(folder / "ws") as ws:
        for kind, text in (
            ("customers", CUSTOMERS),
            ("orders", ORDERS),
            ("events", EVENTS),
            ("consents", CONSENTS),
        ):
            path = folder / f"{kind}.csv"
            path.write_text(text, encoding="utf-8")
            result = ws.imports.load(kind, path)
            assert result.rejected == 0, ws.imports.rejects().to_pandas()
        report = ws.quality.audit(as_of=AS_OF)
        tables = {
            name: ws.table(name).to_pandas()
            for name in ("customers", "orders", "events", "consents")
        }
    return report, tables


def _counts(report: AuditReport) -> dict[str, tuple[int, int]]:
    return {c.id: (c.affected, c.denominator) for c in report.checks}


def _reference(tables: dict[str, pd.DataFrame]) -> dict[str, tuple[int, int]]:
    """Every check, recomputed with pandas from the stored rows."""
    customers = tables["customers"]
    orders = tables["orders"]
    events = tables["events"]
    consents = tables["consents"]
    now = pd.Timestamp(AS_OF)
    expected: dict[str, tuple[int, int]] = {}
    n = len(customers)

    for field in (
        "email",
        "phone",
        "first_name",
        "last_name",
        "birth_date",
        "gender",
        "postal_code",
        "city",
        "region",
        "country",
    ):
        column = customers[field]
        blank = column.isna() | (column.astype("string").str.strip() == "")
        expected[f"completeness.{field}"] = (int(blank.sum()), n)

    def invalid(column: str, valid: Callable[[str], bool]) -> tuple[int, int]:
        values = customers[column].dropna()
        return int((~values.map(valid)).sum()), len(values)

    expected["validity.email"] = invalid("email", lambda v: normalise_email(v) is not None)
    expected["validity.phone"] = invalid("phone", lambda v: normalise_phone(v, "FR") is not None)
    expected["validity.country"] = invalid("country", lambda v: normalise_country(v) is not None)
    coded = customers.dropna(subset=["postal_code"])
    postcode_ok = [
        check_postcode(code, country if isinstance(country, str) and country else "FR")
        for code, country in zip(coded["postal_code"], coded["country"], strict=True)
    ]
    expected["validity.postal_code"] = (postcode_ok.count(False), len(coded))
    born = customers["birth_date"].dropna().map(pd.Timestamp)
    ages = [now.year - b.year - ((now.month, now.day) < (b.month, b.day)) for b in born.tolist()]
    expected["validity.age"] = (sum(a < 15 or a > 110 for a in ages), len(ages))
    future = (customers["created_at"] > now) | (customers["updated_at"] > now)
    expected["validity.future_customers"] = (int(future.sum()), n)
    expected["validity.future_orders"] = (int((orders["ordered_at"] > now).sum()), len(orders))
    expected["validity.future_events"] = (int((events["timestamp"] > now).sum()), len(events))
    expected["validity.future_consents"] = (
        int((consents["recorded_at"] > now).sum()),
        len(consents),
    )
    expected["validity.amount"] = (int((orders["amount"] <= 0).sum()), len(orders))

    known = set(customers["customer_id"])
    for name, frame in (("orders", orders), ("events", events), ("consents", consents)):
        ids = frame["customer_id"].dropna()
        expected[f"consistency.{name}_unknown_customer"] = (
            int((~ids.isin(known)).sum()),
            len(ids),
        )
    currency = orders["currency"].dropna()
    expected["consistency.currency"] = (
        int((currency.str.strip().str.upper() != "EUR").sum()),
        len(currency),
    )

    stale_before = now - pd.DateOffset(months=24)
    stale = customers["updated_at"].isna() | (customers["updated_at"] < stale_before)
    expected["freshness.stale_profiles"] = (int(stale.sum()), n)
    since = now - pd.Timedelta(days=365)
    recent = set(
        orders.loc[orders["ordered_at"].between(since, now), "customer_id"].dropna()
    ) | set(events.loc[events["timestamp"].between(since, now), "customer_id"].dropna())
    expected["freshness.inactive"] = (int((~customers["customer_id"].isin(recent)).sum()), n)

    def surplus(keys: list[pd.Series]) -> tuple[int, int]:
        frame = pd.concat(keys, axis=1).dropna()
        sizes = frame.groupby(list(frame.columns)).size()
        return int((sizes - 1).sum()), len(frame)

    def text(column: str) -> pd.Series:
        return customers[column].str.strip().str.lower().replace("", np.nan)

    expected["duplicates.email"] = surplus([text("email")])
    expected["duplicates.phone"] = surplus([customers["phone"].str.strip().replace("", np.nan)])
    expected["duplicates.name_birth_date"] = surplus(
        [text("last_name"), text("first_name"), customers["birth_date"]]
    )
    expected["duplicates.name_postal_code"] = surplus(
        [text("last_name"), text("first_name"), customers["postal_code"].str.strip()]
    )

    positive = orders[orders["amount"] > 0]

    def outliers(values: pd.Series) -> tuple[int, int]:
        logs = np.log(values.to_numpy())
        q1, q3 = np.quantile(logs, [0.25, 0.75])
        return int((logs > q3 + 3 * (q3 - q1)).sum()), len(values)

    expected["outliers.order_amount"] = outliers(positive["amount"])
    expected["outliers.customer_spend"] = outliers(positive.groupby("customer_id")["amount"].sum())

    marketing = consents[consents["purpose"] == "marketing"].sort_values("recorded_at")
    latest = marketing.groupby(["customer_id", "channel"]).tail(1)
    for channel in CHANNELS:
        granted = set(
            latest.loc[
                (latest["channel"] == channel) & (latest["status"] == "granted"), "customer_id"
            ]
        )
        expected[f"consent.{channel}"] = (int((~customers["customer_id"].isin(granted)).sum()), n)
    return expected


def test_every_check_matches_the_pandas_reference(audited):
    report, tables = audited
    assert _counts(report) == _reference(tables)


@pytest.mark.parametrize(
    ("check_id", "affected"),
    [
        # Planted: C03's doubled @; C03's letters and C05's short number; C03's 7501.
        ("validity.email", 1),
        ("validity.phone", 2),
        ("validity.postal_code", 1),
        ("validity.country", 1),  # Narnia
        # 1890 (C03), 2030 (C07), aged 10 (C05), 14 the day before the audit (C08);
        # C09 turns 15 on the day, C10 is 110: both possible.
        ("validity.age", 4),
        ("validity.future_customers", 1),
        ("validity.future_orders", 1),
        ("validity.future_events", 1),
        ("validity.future_consents", 1),
        ("validity.amount", 1),
        ("consistency.orders_unknown_customer", 1),
        ("consistency.events_unknown_customer", 1),
        ("consistency.consents_unknown_customer", 1),
        ("consistency.currency", 1),  # USD; "eur" is the same currency
        ("duplicates.email", 1),  # C01 and C02, once normalised
        ("duplicates.phone", 1),
        ("duplicates.name_birth_date", 1),
        ("duplicates.name_postal_code", 1),  # the Leroys of 13001 are two people
        ("outliers.order_amount", 1),  # the 5,000 order
        ("freshness.stale_profiles", 2),  # C02 and C10
        ("completeness.email", 1),
    ],
)
def test_planted_mistakes_are_found(audited, check_id: str, affected: int):
    report, _ = audited
    assert _counts(report)[check_id][0] == affected


def test_examples_name_rows_and_values(audited):
    report, _ = audited
    checks = {c.id: c for c in report.checks}
    assert checks["validity.email"].examples == ["C03: paul@@free.fr"]
    assert checks["validity.phone"].examples == ["C03: 06 12 AB 56 78", "C05: 0612"]
    assert checks["duplicates.email"].examples == ["C01 = C02"]
    assert checks["outliers.order_amount"].examples == ["O10: 5000.0"]
    assert all(len(c.examples) <= 5 for c in report.checks)


def test_report_scores_and_ranks(audited):
    report, _ = audited
    assert 0 < report.score < 100
    assert set(report.areas) == {
        "completeness",
        "validity",
        "consistency",
        "freshness",
        "duplicates",
        "outliers",
    }
    problems = report.problems()
    assert len(problems) == 5
    costs = [cost for _, cost in problems]
    assert costs == sorted(costs, reverse=True)
    # Consent coverage is shown, not scored.
    assert all(check.area != "consent" for check, _ in report.problems(100))
    assert report.consent_coverage["email"] == pytest.approx(2 / 11)
    assert report.trend == [] and report.change is None


def test_every_scored_check_has_a_documented_severity(audited):
    report, _ = audited
    assert {c.id for c in report.checks if c.scored} <= set(SEVERITY)
    assert {c.area for c in report.checks if not c.scored} == {"consent"}


def test_as_dict_is_plain_json(audited):
    report, _ = audited
    data = json.loads(json.dumps(report.as_dict()))
    assert data["score_formula"] == FORMULA
    assert {c["id"]: c["weight"] for c in data["checks"]}["freshness.stale_profiles"] == 0.8
    assert all(p["weight"] == SEVERITY[p["id"]] for p in data["problems"])
    assert len(report.as_dict(top=2)["problems"]) == 2
    assert data["score"] == pytest.approx(report.score)
    assert {p["id"] for p in data["problems"]} <= {c["id"] for c in data["checks"]}
    assert data["checks"][0]["label"]["fr"]
    assert math.isclose(
        sum(p["points"] for p in data["problems"]), sum(c for _, c in report.problems())
    )


def test_trend_over_two_audits(tmp_path: Path):
    customers = tmp_path / "c.csv"
    customers.write_text("customer_id;email\nC1;a@b.fr\nC2;bad@@b.fr\n", encoding="utf-8")
    fixed = tmp_path / "c2.csv"
    fixed.write_text("customer_id;email\nC2;c@b.fr\n", encoding="utf-8")
    with Workspace.create(tmp_path / "ws") as ws:
        ws.imports.load("customers", customers)
        first = ws.quality.audit(as_of=AS_OF)
        ws.imports.load("customers", fixed)
        second = ws.quality.audit(as_of=AS_OF)
    assert first.trend == []
    assert [(t.audit_id, t.score) for t in second.trend] == [(first.audit_id, first.score)]
    assert second.audit_id == first.audit_id + 1
    assert second.change == pytest.approx(second.score - first.score)
    assert second.change > 0
    email_checks = [c for c in second.checks if c.id == "validity.email"]
    assert email_checks[0].affected == 0


def test_empty_workspace_scores_what_applies(tmp_path: Path):
    with Workspace.create(tmp_path / "ws") as ws:
        report = ws.quality.audit(as_of=AS_OF)
    assert report.customers == 0
    assert report.score == 100.0
    assert report.areas == {}
    assert report.problems() == []
