"""Cible's errors as HTTP statuses: what the user names and does not exist is a 404."""

from __future__ import annotations

import pytest

from cible.access.tokens import TokenNotFoundError
from cible.domain.errors import CibleError, UnknownCustomerError, WorkspaceError
from cible.server.errors import NotFoundError, status_of


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotFoundError("No segment 'x'."), 404),
        (TokenNotFoundError("No token 3."), 404),
        # Every route naming a customer answers 404 through this one rule, not its own
        # try/except (objections, access requests, consents, templates, profiles).
        (UnknownCustomerError("No customer 'x'."), 404),
        (WorkspaceError("The workspace is busy."), 409),
        (CibleError("A date cannot be read."), 400),
    ],
)
def test_each_error_has_its_status(error: CibleError, status: int) -> None:
    assert status_of(error) == status
