"""Model files: bytes written with ``skops.io`` and read back only if every type is trusted.

A fitted model is stored in the workspace as bytes. Cible used to write them with
pickle, and unpickling runs whatever code the bytes name: a workspace file shared
by someone else, or altered on disk, could then run code on the machine (a server)
that opens it. :func:`load_model` therefore refuses

- a pickle, without unpickling it: the model was stored by an older Cible and must
  be trained again (a pickle cannot be converted safely, since reading it is what
  runs the code);
- a skops file naming any type outside the short list its caller trusts (a file
  naming ``os.system`` or ``builtins.eval`` is refused before anything is built);
- anything else that is not a skops file of the expected model.

Each model keeps its list of trusted types next to its class, written out in code:
computed once at development time with ``skops.io.get_untrusted_types`` on freshly
fitted models, never ``trusted=True`` or the list a file declares itself. A test
dumps every kind of model and checks that nothing outside the list is needed.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable
from enum import Enum
from typing import Any, TypeVar

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from cible.models.errors import StoredModelError

T = TypeVar("T")

#: Every skops file is a zip archive.
_ZIP_MAGIC = b"PK\x03\x04"
#: Pickle protocols 2 to 5 open with the PROTO opcode; Cible wrote protocol 5.
_PICKLE_MAGIC = b"\x80"
#: Types the walk of `_restore_enums` looks into: the project's own objects.
_OWN_MODULES = "cible."


def dump_model(model: object) -> bytes:
    """``model`` as skops bytes, for the store; :func:`load_model` reads them back.

    Examples
    --------
    >>> dump_model({"k": 4})[:4]
    b'PK\\x03\\x04'
    """
    data: bytes = sio.dumps(model)
    return data


def load_model(
    blob: bytes | bytearray | memoryview,
    expected: type[T],
    trusted: Iterable[str],
    *,
    what: str,
    redo: str,
) -> T:
    """The model in ``blob``, built only if it names no type outside ``trusted``.

    Parameters
    ----------
    blob : bytes, bytearray or memoryview
        What :func:`dump_model` wrote (or an older Cible's pickle, refused).
    expected : type
        The class the model must be.
    trusted : iterable of str
        Fully qualified names of the types the model needs beyond those skops trusts
        by default (numpy, scikit-learn estimators, built-in containers).
    what : str
        The model in words, for messages ("churn model").
    redo : str
        How to store a new one, for messages ("train a new one with ...").

    Returns
    -------
    object
        The model, an instance of ``expected``.

    Raises
    ------
    StoredModelError
        For a pickle, a file naming an untrusted type, damaged bytes or another
        object; nothing in the bytes is run.

    Examples
    --------
    >>> load_model(b"\\x80\\x05K\\x01.", dict, [], what="test model", redo="fit it again")
    Traceback (most recent call last):
    ...
    cible.models.errors.StoredModelError: The stored test model was saved by an older Cible ...
    """
    data = bytes(blob)
    if data.startswith(_PICKLE_MAGIC):
        raise StoredModelError(
            f"The stored {what} was saved by an older Cible as a pickle, which Cible no "
            f"longer opens because opening a pickle can run code; {redo}."
        )
    if not data.startswith(_ZIP_MAGIC):
        raise StoredModelError(f"The stored {what} is not a Cible model file; {redo}.")
    allowed = sorted(set(trusted))
    try:
        found = sio.loads(data, trusted=allowed)
    except UntrustedTypesFoundException:
        names = ", ".join(_untrusted(data, allowed)) or "unknown"
        raise StoredModelError(
            f"The stored {what} names types Cible does not load ({names}): it was altered "
            f"or written by another program, and was not opened; {redo}."
        ) from None
    except Exception as error:  # any failure to read stored bytes is theirs
        raise StoredModelError(
            f"The stored {what} is damaged ({type(error).__name__}: {error}); {redo}."
        ) from None
    if not isinstance(found, expected):
        raise StoredModelError(
            f"The stored {what} holds a {type(found).__name__}, not a {expected.__name__}."
        )
    _restore_enums(found, set())
    return found


def _untrusted(data: bytes, allowed: list[str]) -> list[str]:
    """The types of ``data`` outside ``allowed`` and skops' defaults (reads, builds nothing)."""
    try:
        return sorted(set(sio.get_untrusted_types(data=data)) - set(allowed))
    except Exception:  # only for the message; the refusal stands anyway
        return []


def _restore_enums(value: Any, seen: set[int]) -> None:
    """Turn back into enum members the fields skops stored as their string values.

    skops writes anything ``json.dumps`` accepts as JSON, so a ``StrEnum`` member
    comes back as a plain ``str``: equal to the member, but not the member, which
    ``is`` comparisons (``field.sensitivity is Sensitivity.NONE``) and ``.value``
    tell apart. Each dataclass field of the project's own objects declared with an
    enum type gets its member back.
    """
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, dict):
        items: Iterable[Any] = value.values()
    elif isinstance(value, list | tuple | set | frozenset):
        items = value
    elif type(value).__module__.startswith(_OWN_MODULES) and hasattr(value, "__dict__"):
        if dataclasses.is_dataclass(value):
            for name, kind in _enum_fields(type(value)).items():
                current = getattr(value, name)
                if isinstance(current, str) and not isinstance(current, Enum):
                    # Frozen dataclasses refuse setattr; this is their own __init__'s way.
                    object.__setattr__(value, name, kind(current))
        items = vars(value).values()
    else:
        return
    for item in items:
        _restore_enums(item, seen)


def _enum_fields(cls: type) -> dict[str, type[Enum]]:
    """Fields of dataclass ``cls`` whose declared type is an enum class."""
    namespace = vars(sys.modules[cls.__module__])
    found: dict[str, type[Enum]] = {}
    for field in dataclasses.fields(cls):
        kind = namespace.get(field.type) if isinstance(field.type, str) else field.type
        if isinstance(kind, type) and issubclass(kind, Enum):
            found[field.name] = kind
    return found
