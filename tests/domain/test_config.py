"""cible.toml validation and the field registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from cible import Workspace
from cible.domain.config import WorkspaceConfig, check_dimensions
from cible.domain.errors import ConfigError, ImportFileError, WorkspaceError
from cible.domain.registry import FieldRegistry
from cible.domain.schema import CANONICAL_TABLES, Category, Sensitivity
from cible.workspace import load_config


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
        # Issue 11: values accepted silently, or crashing later.
        (
            '[attributes.religion]\nsensitivity = "special"\ncategory = "demographic"\n'
            'legal_basis = " "\n',
            r"attributes\.religion\.legal_basis: legal_basis is blank; write the legal basis",
        ),
        (
            "[lifecycle]\nat_risk_factor = nan\n",
            r"lifecycle\.at_risk_factor: Input should be a finite",
        ),
        (
            "[lifecycle]\nlapsed_factor = inf\n",
            r"lifecycle\.lapsed_factor: Input should be a finite",
        ),
        ("[portfolio]\nmin_revenue_share = -inf\n", r"portfolio\.min_revenue_share: Input should"),
        (
            "[dedupe]\nmin_match_weight = nan\n",
            r"dedupe\.min_match_weight: Input should be a finite",
        ),
        (
            '[dedupe]\nmin_match_weight = "inf"\n',
            r"dedupe\.min_match_weight: Input should be a finite",
        ),
        ("[typology.weights.loyal]\nfrequency = nan\n", r"typology\.weights\.loyal\.frequency"),
        (
            '[[playbook.rules]]\nid = "x"\naction = {en = "a", fr = "b"}\n'
            '[[playbook.rules.when]]\nfigure = "size"\nvalue = nan\n',
            r"playbook\.rules\.0\.when\.0\.value is not a finite number",
        ),
        (
            '[workspace]\ndefault_region = "ZZ"\n',
            r"workspace\.default_region: default_region 'ZZ' is not an ISO 3166",
        ),
        (
            '[workspace]\ncurrency = "ZZZ"\n',
            r"workspace\.currency: currency 'ZZZ' is not an ISO 4217",
        ),
        (
            '[quality]\nphone_region = "ZZ"\n',
            r"quality\.phone_region: phone_region 'ZZ' is not a region",
        ),
        (
            "[rfm.champions]\nr = [9, 0]\nf = [4, 5]\n",
            r"rfm\.champions\.r\.0: Input should be less than or equal to 5",
        ),
        (
            "[rfm.champions]\nr = [0, 5]\nf = [4, 5]\n",
            r"rfm\.champions\.r\.0: Input should be greater than or equal to 1",
        ),
        (
            "[rfm.champions]\nr = [5, 4]\nf = [4, 5]\n",
            r"rfm\.champions: r = \[5, 4\] needs low <= high",
        ),
        (
            '[portfolio]\noverlap = [["Value", "lifecycle"]]\n',
            r"portfolio\.overlap: 'Value' is not a dimension id",
        ),
        ('[personas]\ndimensions = [""]\n', r"personas\.dimensions: '' is not a dimension id"),
        (
            "[quality]\nstale_profile_months = 9223372036854775807\n",
            r"quality\.stale_profile_months: Input should be less than or equal to 1200",
        ),
        (
            "[quality]\ninactive_days = 9223372036854775807\n",
            r"quality\.inactive_days: Input should be less than or equal to 36500",
        ),
        (
            "[quality]\nmax_age = 9223372036854775807\n",
            r"quality\.max_age: Input should be less than or equal to 150",
        ),
        (
            "[quality]\noutlier_iqr_factor = 1e308\n",
            r"quality\.outlier_iqr_factor: Input should be less than or equal to 100",
        ),
        (
            "[lifecycle]\nnew_days = 36501\n",
            r"lifecycle\.new_days: Input should be less than or equal to 36500",
        ),
        (
            "[traits]\nnew_product_days = 99999999\n",
            r"traits\.new_product_days: Input should be less",
        ),
        (
            "[lifecycle]\nat_risk_days = 500\n",
            r"cible\.toml: lifecycle: at_risk_days < lapsed_days",
        ),
        (
            '[engine]\nbackend = "spark://local[2]"\n',
            r"engine\.backend: .* write backend = \"spark\" and the master as \[engine\.spark\]",
        ),
        (
            '[engine]\nbackend = "spark"\n[engine.spark]\nmaster = "nowhere:7077"\n',
            r"engine\.spark\.master: 'nowhere:7077' is not a Spark master",
        ),
        (
            '[engine]\nbackend = "spark"\n[engine.spark]\ndatabase = "my shop"\n',
            r"engine\.spark\.database: 'my shop' is not a Spark database name",
        ),
        (
            '[engine.spark.settings]\n"executor.memory" = "4g"\n',
            r"engine\.spark\.settings: 'executor\.memory' is not a Spark setting",
        ),
        (
            '[workspace]\nencrypted = true\n[engine]\nbackend = "spark"\n',
            r"Spark's copies of the tables would not be encrypted",
        ),
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


def test_a_legal_basis_is_kept_without_surrounding_spaces():
    config = WorkspaceConfig.model_validate(
        {"attributes": {"religion": {"sensitivity": "special", "legal_basis": " art. 9(2)(a) "}}}
    )
    assert config.attributes["religion"].legal_basis == "art. 9(2)(a)"


def test_a_cible_toml_that_is_not_utf8_names_the_file_and_line(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    (folder / "cible.toml").write_bytes(b'[workspace]\nname = "Soci\xe9t\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        Workspace.open(folder)
    assert str(caught.value) == (
        f"{folder / 'cible.toml'}: line 2 is not UTF-8 text (byte 0xe9); save the file as UTF-8."
    )


def test_an_unreadable_cible_toml_is_a_config_error(tmp_path: Path):
    folder = tmp_path / "ws"
    Workspace.create(folder).close()
    (folder / "cible.toml").unlink()
    (folder / "cible.toml").mkdir()
    with pytest.raises(WorkspaceError, match=r"no cible\.toml"):
        Workspace.open(folder)
    with pytest.raises(ConfigError, match=r"cible\.toml: cannot be read"):
        load_config(folder / "cible.toml")


def test_dimensions_named_in_the_config_must_exist_when_the_report_is_built(tmp_path: Path):
    folder = tmp_path / "ws"
    config = WorkspaceConfig.model_validate({"personas": {"dimensions": ["typology", "needs"]}})
    Workspace.create(folder, config=config).close()
    with Workspace.open(folder) as ws:  # opening is not blocked: segments may be added
        with pytest.raises(
            ConfigError,
            match=r"cible\.toml: personas\.dimensions names dimension 'needs', which no segment "
            r"has \(known: churn_risk, lifecycle, rfm, typology, value\)\.$",
        ):
            ws.report()
        ws.segments.add(
            {"id": "eco", "name": "Eco", "dimension": "needs", "where": {"consent": "email"}}
        )
        ws._check_dimensions()


def test_check_dimensions_reads_the_overlap_pairs_too():
    config = WorkspaceConfig.model_validate({"portfolio": {"overlap": [["value", "typologie"]]}})
    with pytest.raises(ConfigError, match=r"portfolio\.overlap names dimension 'typologie'"):
        check_dimensions(config, ["value", "typology"])
    check_dimensions(config, ["value", "typologie", "typology"])


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


@pytest.mark.parametrize(
    ("section", "zone"),
    [
        ({}, "Europe/Paris"),
        ({"default_region": "BE"}, "Europe/Brussels"),
        ({"default_region": "CH"}, "Europe/Zurich"),
        ({"default_region": "US"}, "America/New_York"),
        ({"default_region": "GB"}, "Europe/London"),
        ({"default_region": "DE"}, "UTC"),
        ({"default_region": "US", "timezone": "America/Los_Angeles"}, "America/Los_Angeles"),
    ],
)
def test_workspace_time_zone_is_set_or_follows_the_region(section: dict[str, str], zone: str):
    assert WorkspaceConfig.model_validate({"workspace": section}).workspace.zone == zone


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "Europe/"])
def test_an_unknown_time_zone_is_refused_with_examples(name: str):
    with pytest.raises(ValueError, match="is not an IANA time zone name; use one such as"):
        WorkspaceConfig.model_validate({"workspace": {"timezone": name}})
