"""The words of the access page and the record of processing, in English.

They live beside the other messages so that ``make messages`` extracts them into the
French catalog; :mod:`cible.reporting.privacy_access` translates them with
:func:`cible.locale.gettext`.

Examples
--------
>>> from cible.locale import gettext
>>> gettext("fr", LABELS["access_title"])
'Vos données'
"""

from __future__ import annotations

from cible.locale import N_

#: Labels of the access page and the record, translated with the catalog.
LABELS = {
    "access_title": N_("Your data"),
    "access_intro": N_(
        "Everything this workspace holds about customer {id}, exported on {date}. The same "
        "content exists as a JSON file, which another service can read back."
    ),
    "profile": N_("Profile"),
    "field": N_("Field"),
    "value": N_("Value"),
    "segments": N_("Segments"),
    "segments_help": N_(
        "The groups you are in, or were in, and what each means: this is why you may receive "
        "some messages and not others."
    ),
    "segment": N_("Segment"),
    "meaning": N_("What it means"),
    "entered": N_("Entered"),
    "exited": N_("Left"),
    "current": N_("current"),
    "consents": N_("Consents"),
    "channel": N_("Channel"),
    "purpose": N_("Purpose"),
    "status": N_("Status"),
    "recorded_at": N_("Recorded on"),
    "source": N_("Source"),
    "proof": N_("Proof"),
    "orders": N_("Orders"),
    "order": N_("Order"),
    "date": N_("Date"),
    "amount": N_("Amount"),
    "lines": N_("Lines"),
    "events": N_("Events"),
    "event": N_("Event"),
    "traits": N_("Computed traits"),
    "tags": N_("Tags"),
    "campaigns": N_("Campaigns"),
    "arm": N_("Group"),
    "deliveries": N_("Messages sent"),
    "kind": N_("Kind"),
    "target": N_("Sent to"),
    "surveys": N_("Survey answers"),
    "tickets": N_("Support tickets"),
    "merges": N_("Merged records"),
    "merged_ids": N_("Ids merged into this one"),
    "none": N_("None."),
    "record_title": N_("Record of processing activities"),
    "record_intro": N_(
        "Generated from workspace {workspace} on {date} (GDPR article 30). It lists the data "
        "held, the purposes the customers consented to, the processing that reads personal "
        "data, the recipients and the retention periods."
    ),
    "data_held": N_("Data held"),
    "table": N_("Table"),
    "rows": N_("Rows"),
    "category": N_("Category"),
    "sensitivity": N_("Sensitivity"),
    "legal_basis": N_("Legal basis"),
    "purposes": N_("Purposes (current consent per customer)"),
    "granted": N_("granted"),
    "denied": N_("denied"),
    "withdrawn": N_("withdrawn"),
    "records": N_("ledger records"),
    "processing": N_("Segments and what they read"),
    "reads": N_("Reads"),
    "clusterings": N_("Clusterings"),
    "features": N_("Features"),
    "automations": N_("Automations"),
    "names": N_("Segments, templates and webhooks named"),
    "recipients": N_("Recipients"),
    "webhooks": N_("Webhooks"),
    "personal_data": N_("Carries personal data"),
    "smtp": N_("E-mail server (SMTP)"),
    "retention": N_("Retention"),
    "prospect_days": N_("Prospects without any order or event are kept {days} days."),
    "customer_inactive_days": N_("Customers are kept {days} days after their last interaction."),
    "special_fields": N_("Special-category fields (GDPR article 9)"),
    "no_legal_basis": N_("none recorded: the field cannot be used"),
    "yes": N_("yes"),
    "no": N_("no"),
}
