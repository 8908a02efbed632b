"""cible.toml validation and the field registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig
from cible.domain.errors import ConfigError, ImportFileError
from cible.domain.registry import FieldRegistry
from cible.domain.schema import CANONICAL_TABLES, Category, Sensitivity


def test_every_canonical_field_has_category_sensitivity_and_description():
    for table in CANONICAL_TABLES.values():
        assert set(table.key) <= set(table.names)
        for field in table.fields:
            assert isinstance(field.category, Category)
            assert isinstance(field.sensitivity, Sensitivity)
            assert field.description, f"{table.name}.{field.name} has no description"


def test_special_attribute_needs_legal_basis_to_be_used():
    registry = FieldRegistry(
        WorkspaceConfig.model_validate(
            {
                "attributes": {
                    "religion": {"sensitivity": "special", "category": "demographic"},
                    "health_plan": {
                        "sensitivity": "special",
                        "category": "demographic",
                        "legal_basis": "explicit consent, form HP-2",
                    },
                }
            }
        )
    )
    customers = registry.table("customers")
    assert not customers.field("religion").usable_for_targeting
    assert customers.field("health_plan").usable_for_targeting
    assert customers.field("email").usable_for_targeting


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[workspace]\nname = 3\n", "workspace.name"),
        ("[attributes.Bad-Name]\n", "snake_case"),
        ("[attributes.email]\n", "already a built-in"),
        ('[attributes.tier]\ntype = "enum"\n', "non-empty 'values'"),
        ("[import.mappings.invoices]\na = 'b'\n", "unknown kind 'invoices'"),
        ("[workspace\n", "not valid TOML"),
        ("colour = 'blue'\n", "colour"),
        ("[attributes.tier__reason]\n", "single underscores"),
        (
            "[import.mappings.orders]\nmontant = 'Montant'\n",
            r"\[import.mappings.orders\] maps 'montant'",
        ),
        ("[lifecycle]\nat_risk_days = 500\n", "at_risk_days < lapsed_days"),
        ('[quality]\nphone_region = "XX"\n', "quality.phone_region.*'XX' is not a region"),
        ("[quality]\nmin_age = 120\n", "min_age must be smaller than max_age"),
        ("[quality]\ninactive_days = 0\n", "quality.inactive_days"),
    ],
)
def test_invalid_config_names_the_setting(tmp_path: Path, toml: str, message: str):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    (folder / "cible.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        Workspace.open(folder)


def test_kind_spellings():
    registry = FieldRegistry(WorkspaceConfig())
    assert registry.table_for_kind("order-lines").name == "order_lines"
    assert registry.table_for_kind("Order_Lines").name == "order_lines"
    with pytest.raises(ImportFileError, match="Unknown kind"):
        registry.table_for_kind("invoice")


def test_quality_section_defaults_and_region_case():
    quality = WorkspaceConfig().quality
    assert (quality.phone_region, quality.stale_profile_months, quality.inactive_days) == (
        "FR",
        24,
        365,
    )
    assert (quality.min_age, quality.max_age, quality.outlier_iqr_factor) == (15, 110, 3.0)
    config = WorkspaceConfig.model_validate({"quality": {"phone_region": "be"}})
    assert config.quality.phone_region == "BE"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"max_number": float("inf")}, "import.max_number"),
        ({"max_number": float("nan")}, "import.max_number"),
        ({"max_number": 0}, "import.max_number"),
        ({"min_date": "2100-01-01", "max_date": "2000-01-01"}, "must be before max_date"),
        ({"min_date": "0000-01-01"}, "import.min_date"),
        ({"min_date": "1600-01-01"}, "import.min_date"),
        ({"max_date": "2300-01-01"}, "import.max_date"),
        ({"max_date": "10000-01-01"}, "import.max_date"),
    ],
)
def test_import_plausible_ranges_are_checked(section: dict[str, object], message: str):
    with pytest.raises(ValueError, match=message):
        WorkspaceConfig.model_validate({"import": section})


def test_import_plausible_ranges_have_defaults_read_from_toml(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    text = (folder / "cible.toml").read_text(encoding="utf-8")
    assert 'min_date = "1800-01-01"' in text
    (folder / "cible.toml").write_text(
        text.replace('max_date = "2200-12-31"', "max_date = 2050-06-30"), encoding="utf-8"
    )
    with Workspace.open(folder) as ws:
        settings = ws.config.import_
        assert (settings.max_number, str(settings.min_date), str(settings.max_date)) == (
            1e9,
            "1800-01-01",
            "2050-06-30",
        )
