"""``ws.drafts``: kept as left, saved in place, bounded, never computed as a segment."""

from __future__ import annotations

from datetime import datetime

import pytest

from cible import Workspace
from cible.domain.errors import CibleError, DraftChangedError
from cible.segments.drafts import MAX_FIELDS, MAX_VALUE, DraftNotFoundError

FORM = {"n.type": "group", "n.0.type": "trait", "n.0.field": "frequency", "n.0.op": ">="}


def test_a_draft_is_kept_as_left_and_saved_in_place(workspace: Workspace):
    draft = workspace.drafts.save(
        {**FORM, "n.0.value": ""},  # unfinished: no value yet
        author="ana",
        segment_id="loyal",
        name={"en": "Loyal", "fr": ""},
        dimension="value",
    )
    assert workspace.drafts.get(draft.draft_id) == draft
    assert draft.name == {"en": "Loyal"} and draft.label("fr") == "Loyal"
    assert (draft.author, draft.dimension, draft.form["n.0.value"]) == ("ana", "value", "")
    other = workspace.drafts.save(FORM, author="bob")
    assert other.draft_id != draft.draft_id and other.label() == ""
    changed = workspace.drafts.save(
        {**FORM, "n.0.value": "3"}, author="bob", segment_id="loyal", draft_id=draft.draft_id
    )
    assert changed.draft_id == draft.draft_id and changed.saved_at >= draft.saved_at
    assert [d.draft_id for d in workspace.drafts.list()] == [changed.draft_id, other.draft_id]
    assert workspace.drafts.get(draft.draft_id).form["n.0.value"] == "3"
    assert workspace.drafts.remove(draft.draft_id) and not workspace.drafts.remove(draft.draft_id)
    with pytest.raises(DraftNotFoundError, match="published or deleted"):
        workspace.drafts.get(draft.draft_id)


def test_a_draft_saved_by_someone_else_since_it_was_read_is_not_replaced(workspace: Workspace):
    read = workspace.drafts.save(FORM, author="ana", segment_id="loyal")
    theirs = workspace.drafts.save(FORM, author="bob", draft_id=read.draft_id)
    with pytest.raises(DraftChangedError):
        workspace.drafts.save(FORM, author="ana", draft_id=read.draft_id, saved_at=read.saved_at)
    with pytest.raises(DraftChangedError):
        workspace.drafts.remove(read.draft_id, saved_at=read.saved_at)
    assert workspace.drafts.get(read.draft_id).author == "bob"
    assert workspace.drafts.remove(read.draft_id, saved_at=theirs.saved_at)


def test_a_draft_is_not_a_segment_and_no_run_computes_it(workspace: Workspace):
    workspace.drafts.save({**FORM, "n.0.value": "1"}, author="ana", segment_id="loyal")
    workspace.run(as_of=datetime(2026, 1, 1))
    assert "loyal" not in [info.id for info in workspace.segments.list()]
    assert workspace.segments.definition("loyal") is None


@pytest.mark.parametrize(
    "form, message",
    [
        ({f"n.{i}.type": "trait" for i in range(MAX_FIELDS + 1)}, "at most 2000 fields"),
        ({"n.0.value": "x" * (MAX_VALUE + 1)}, "at most 2000 characters"),
        ({"": "x"}, "field names have 1 to 200"),
        ({"n.0.value": 3}, "give text"),
    ],
    ids=["too-many-fields", "too-long", "empty-name", "not-text"],
)
def test_a_draft_beyond_its_bounds_is_one_sentence_and_nothing_is_kept(
    workspace: Workspace, form: dict[str, object], message: str
):
    with pytest.raises(CibleError, match=message):
        workspace.drafts.save(form, author="ana")  # type: ignore[arg-type]
    assert workspace.drafts.list() == []
