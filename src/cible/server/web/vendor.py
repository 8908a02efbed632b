"""The JavaScript the web pages load, vendored from the npm registry with pinned versions.

Pages fetch nothing from the network at run time: htmx and vega-embed (with Vega and
Vega-Lite) are served from ``static/vendor/``. Each file is pinned here by package,
version, path in the package and SHA-256; ``tests/server/web/test_vendor.py`` checks
the files against these checksums, and ``python -m cible.server.web.vendor`` fetches
them again with ``npm pack`` (the npm registry only) and refuses any file whose
checksum differs.

Examples
--------
>>> [asset.file for asset in VENDORED][:2]
['htmx.min.js', 'vega.min.js']
>>> VENDORED[0].url
'https://registry.npmjs.org/htmx.org/-/htmx.org-2.0.4.tgz'
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Where the vendored files are served from (``/static/vendor/<file>``).
FOLDER = Path(__file__).parent / "static" / "vendor"


@dataclass(frozen=True)
class Asset:
    """One vendored file: which package, which version, which file in it, its checksum."""

    package: str
    version: str
    member: str
    sha256: str

    @property
    def file(self) -> str:
        """The name it is served under."""
        return Path(self.member).name

    @property
    def url(self) -> str:
        """The package's tarball on the npm registry."""
        return f"https://registry.npmjs.org/{self.package}/-/{self.package}-{self.version}.tgz"


VENDORED = (
    Asset(
        "htmx.org",
        "2.0.4",
        "package/dist/htmx.min.js",
        "e209dda5c8235479f3166defc7750e1dbcd5a5c1808b7792fc2e6733768fb447",
    ),
    Asset(
        "vega",
        "5.30.0",
        "package/build/vega.min.js",
        "e432c751a6363f4a61da62920cc7d7ebd13cf09d82949f8f486248f8071dc3ce",
    ),
    Asset(
        "vega-lite",
        "5.21.0",
        "package/build/vega-lite.min.js",
        "cd32314b1e76e7d879dc9f0534b62be714df03554486c7ca2381abfd0a92d2f4",
    ),
    Asset(
        "vega-embed",
        "6.26.0",
        "package/build/vega-embed.min.js",
        "072c054f2a6310725e038c38a71e00052705e31835632462c9717a23a384e895",
    ),
)


def checksum(path: Path) -> str:
    """SHA-256 of a file, in hexadecimal."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch(folder: Path = FOLDER, assets: tuple[Asset, ...] = VENDORED) -> list[Path]:
    """Fetch ``assets`` with ``npm pack`` into ``folder``; refuse a changed checksum."""
    written = []
    with tempfile.TemporaryDirectory() as scratch:
        for asset in assets:
            spec = f"{asset.package}@{asset.version}"
            subprocess.run(
                ["npm", "pack", spec, "--silent", "--pack-destination", scratch], check=True
            )
            tarball = Path(scratch) / f"{asset.package}-{asset.version}.tgz"
            with tarfile.open(tarball) as archive:
                member = archive.extractfile(asset.member)
                if member is None:
                    raise RuntimeError(f"{spec} has no file {asset.member}")
                data = member.read()
            found = hashlib.sha256(data).hexdigest()
            if found != asset.sha256:
                raise RuntimeError(
                    f"{spec}: {asset.member} has SHA-256 {found}, not {asset.sha256}"
                )
            target = folder / asset.file
            target.write_bytes(data)
            written.append(target)
    return written


if __name__ == "__main__":  # pragma: no cover - a maintainer's command
    for path in fetch():
        sys.stdout.write(f"{path}\n")
