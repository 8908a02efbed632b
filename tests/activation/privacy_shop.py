"""A small shop for the privacy access tests: two customers who share a city, and others.

``a`` and ``b`` both live in Lyon and have orders with lines, events, consents, survey
answers, tickets, tags and deliveries, so that an export mixing them up would show.
``x`` has a hostile first name. ``old`` is a prospect created in 2019, ``fresh`` one
created in 2025, ``lapsed`` a customer whose only order dates from 2018.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.store.deliveries import NewDelivery

AS_OF = datetime(2026, 1, 1)
HOSTILE = "<script>alert(1)</script>"
LEGAL_BASIS = "explicit consent, form HP-2"

FILES = {
    "customers": (
        "customer_id,email,first_name,city,created_at,health_note\n"
        "a,ann@example.com,Ann,Lyon,2024-01-01,\n"
        "b,bob@example.com,Bob,Lyon,2024-02-01,asthma\n"
        f"x,x@example.com,{HOSTILE},Paris,2024-03-01,\n"
        "old,old@example.com,Olga,Lille,2019-01-01,\n"
        "fresh,fresh@example.com,Fred,Lille,2025-06-01,\n"
        "lapsed,lapsed@example.com,Lea,Nice,2017-01-01,\n"
    ),
    "products": "product_id,name,category\np1,Teapot,kitchen\np2,Mug,kitchen\n",
    "orders": (
        "order_id,customer_id,ordered_at,amount\n"
        "o1,a,2025-10-01,30\no2,a,2025-11-02,45\no3,b,2025-10-05,20\n"
        "o4,x,2025-09-01,10\no5,lapsed,2018-03-01,50\n"
    ),
    "order-lines": (
        "order_id,line_number,product_id,quantity,unit_price\n"
        "o1,1,p1,1,30\no2,1,p2,3,15\no3,1,p1,1,20\no4,1,p2,1,10\no5,1,p1,2,25\n"
    ),
    "events": (
        "message_id,customer_id,type,event,timestamp\n"
        "e1,a,track,product_viewed,2025-10-01T10:00:00\n"
        "e2,b,track,product_viewed,2025-10-02T10:00:00\n"
        "e3,a,track,cart_viewed,2025-10-03T10:00:00\n"
    ),
    "consents": (
        "customer_id,channel,purpose,status,recorded_at,source,proof\n"
        "a,email,marketing,granted,2024-01-01,signup-form,form-17\n"
        "a,email,marketing,withdrawn,2025-12-01,unsubscribe-link,\n"
        "b,email,marketing,granted,2024-02-01,checkout,\n"
        "b,sms,marketing,denied,2024-02-01,checkout,\n"
    ),
    "surveys": (
        "response_id,customer_id,kind,answered_at,score,comment\n"
        "r1,a,nps,2025-11-10,9,Lovely teapot\nr2,b,nps,2025-11-11,3,Late\n"
    ),
    "tickets": (
        "ticket_id,customer_id,opened_at,channel,topic\n"
        "t1,b,2025-10-20,email,delivery\nt2,a,2025-11-20,phone,refund\n"
    ),
}

SEGMENT = {
    "id": "lyon-buyers",
    "name": {"en": "Lyon buyers", "fr": "Acheteurs lyonnais"},
    "description": {
        "en": "Customers living in Lyon who bought at least once.",
        "fr": "Clients habitant Lyon ayant acheté au moins une fois.",
    },
    "where": {
        "all": [
            {"attribute": "city", "op": "=", "value": "Lyon"},
            {"trait": "frequency", "op": ">=", "value": 1},
        ]
    },
}


def config() -> WorkspaceConfig:
    """Settings with a special-category attribute that has a recorded legal basis."""
    return WorkspaceConfig.model_validate(
        {
            "attributes": {
                "health_note": {
                    "sensitivity": "special",
                    "category": "demographic",
                    "legal_basis": LEGAL_BASIS,
                }
            },
            "webhooks": {"crm": {"url": "https://crm.example.com/hook", "secret_env": "CRM_KEY"}},
        }
    )


def build_shop(folder: Path) -> Path:
    """Create the shop under ``folder``, run it as of :data:`AS_OF`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    shop = folder / "shop"
    with Workspace.create(shop, config=config()) as ws:
        for kind, text in FILES.items():
            path = folder / f"{kind}.csv"
            path.write_text(text, encoding="utf-8")
            ws.imports.load(kind, path)
        ws.segments.add(SEGMENT)
        ws.run(as_of=AS_OF)
        ws.tags.define("vip")
        ws.tags.apply("vip", ["a", "b"], actor="test")
        ws.store.enqueue_deliveries(
            [
                NewDelivery(f"k-{c}", "email", c, f"{c}@example.com", f'{{"subject": "Hi {c}"}}')
                for c in ("a", "b")
            ],
            at=AS_OF,
        )
    return shop
