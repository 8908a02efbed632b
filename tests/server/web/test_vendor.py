"""The vendored scripts are the pinned releases, and pages load nothing from elsewhere."""

from __future__ import annotations

import re
from pathlib import Path

from cible.server.web.vendor import FOLDER, VENDORED, checksum

TEMPLATES = Path(FOLDER).parent.parent / "templates"


def test_every_vendored_file_has_its_pinned_checksum() -> None:
    for asset in VENDORED:
        assert checksum(FOLDER / asset.file) == asset.sha256, asset.file
    assert sorted(p.name for p in FOLDER.iterdir()) == sorted(a.file for a in VENDORED)


def test_templates_reference_no_remote_script_style_or_font() -> None:
    remote = re.compile(r"""(src|href)=["']?(https?:)?//""")
    for template in TEMPLATES.glob("*.j2"):
        assert not remote.search(template.read_text()), template.name
