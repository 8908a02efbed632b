"""Model files: skops bytes with trusted types only; pickles and tampered files refused unrun."""

from __future__ import annotations

import io
import json
import pickle
import sys
import zipfile
import zoneinfo
from pathlib import Path

import pytest
import skops.io as sio

from cible.domain.errors import CibleError
from cible.domain.schema import Category, Field, FieldType, Sensitivity
from cible.models.errors import StoredModelError
from cible.models.model_files import dump_model, load_model

WORDS = {"what": "test model", "redo": "fit a new one"}


class Payload:
    """Pickles as a call that creates ``path``: what a malicious model file would do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.path)!r}, 'w').close()",)


def tampered(function: str, argument: str) -> bytes:
    """A skops file whose schema was edited to call ``function(argument)`` when built.

    The file is written for a ZoneInfo, which skops builds by calling its class with
    the key; the edit names another callable and argument instead, as an attacker
    would.
    """
    module, name = function.rsplit(".", 1)
    honest = sio.dumps({"k": 4, "zone": zoneinfo.ZoneInfo("UTC")})
    source = zipfile.ZipFile(io.BytesIO(honest))
    schema = json.loads(source.read("schema.json"))
    zone = schema["content"]["zone"]
    assert zone["__loader__"] == "ConstructorFromReduceNode"
    zone["__module__"], zone["__class__"] = module, name
    zone["content"]["content"][0]["content"] = json.dumps(argument)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.namelist():
            data = json.dumps(schema) if item == "schema.json" else source.read(item)
            target.writestr(item, data)
    return out.getvalue()


def attacks(path: Path) -> list[tuple[str, str]]:
    python = f"open({str(path)!r}, 'w').close()"
    return [("builtins.eval", python), ("builtins.exec", python), ("os.system", f"touch {path}")]


def test_round_trip_of_plain_data():
    blob = dump_model({"k": 4, "names": ["a", "b"]})
    assert blob.startswith(b"PK\x03\x04")
    assert load_model(blob, dict, [], **WORDS) == {"k": 4, "names": ["a", "b"]}
    assert load_model(bytearray(blob), dict, [], **WORDS) == {"k": 4, "names": ["a", "b"]}


def test_a_pickle_is_refused_without_being_unpickled(tmp_path: Path):
    target = tmp_path / "ran"
    payload = pickle.dumps(Payload(target), protocol=5)
    pickle.loads(payload)  # the control: unpickled, the payload does create the file
    assert target.exists()
    target.unlink()
    with pytest.raises(StoredModelError, match=r"older Cible as a pickle.*fit a new one") as caught:
        load_model(payload, dict, [], **WORDS)
    assert not target.exists()
    assert isinstance(caught.value, CibleError)


@pytest.mark.parametrize("index", range(3), ids=["eval", "exec", "os_system"])
def test_a_tampered_skops_file_is_refused_without_running_code(tmp_path: Path, index: int):
    target = tmp_path / "ran"
    function, argument = attacks(target)[index]
    blob = tampered(function, argument)
    if sys.platform != "win32" or function != "os.system":
        # The control: trusted blindly, the file does run the call.
        sio.loads(blob, trusted=[function])
        assert target.exists()
        target.unlink()
    with pytest.raises(StoredModelError, match=rf"names types Cible does not load \({function}\)"):
        load_model(blob, dict, ["zoneinfo.ZoneInfo"], **WORDS)
    assert not target.exists()


def test_the_honest_file_the_attacks_start_from_loads():
    honest = sio.dumps({"k": 4, "zone": zoneinfo.ZoneInfo("UTC")})
    assert load_model(honest, dict, ["zoneinfo.ZoneInfo"], **WORDS)["k"] == 4
    with pytest.raises(StoredModelError, match=r"zoneinfo\.ZoneInfo"):
        load_model(honest, dict, [], **WORDS)


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "not a Cible model file"),
        (b"{}", "not a Cible model file"),
        (b"PK\x03\x04 not really a zip", "is damaged"),
    ],
)
def test_other_bytes_are_refused(blob: bytes, message: str):
    with pytest.raises(StoredModelError, match=message):
        load_model(blob, dict, [], **WORDS)


def test_another_object_is_refused():
    with pytest.raises(StoredModelError, match="holds a list, not a dict"):
        load_model(dump_model([1, 2]), dict, [], **WORDS)


def test_enum_fields_come_back_as_members():
    """skops stores a StrEnum as its string; `is` comparisons need the member back."""
    field = Field("email", FieldType.STRING, Category.IDENTIFIER, Sensitivity.PERSONAL)
    loaded = load_model(dump_model([field]), list, ["cible.domain.schema.Field"], **WORDS)[0]
    assert loaded == field
    assert loaded.sensitivity is Sensitivity.PERSONAL
    assert loaded.type is FieldType.STRING and loaded.category is Category.IDENTIFIER
