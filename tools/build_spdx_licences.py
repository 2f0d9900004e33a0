"""Regenerate src/assay/data/data/spdx_licences.json from the SPDX licence list that `packaging` ships.

The ids and deprecation flags are SPDX's (packaging copies the official list, version in its
`_spdx.VERSION`). The three flags Assay adds are read off the ids, which SPDX names systematically:
`-NC` non-commercial, `-ND` no derivatives, `-SA` share-alike; and the copyleft families below, whose
licences require derived works to be shared under the same terms. Run: python tools/build_spdx_licences.py
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from packaging.licenses import _spdx

COPYLEFT = re.compile(
    r"^(A?GPL|LGPL|GFDL|MPL|EPL|EUPL|ODbL|CDLA-Sharing|OSL|CECILL-2|CECILL-1|CPL|CDDL|MS-RL)(-|$)"
)
OUT = Path(__file__).resolve().parents[1] / "src/assay/data/data/spdx_licences.json"


def main() -> None:
    licences = {}
    for item in sorted(_spdx.LICENSES.values(), key=lambda x: x["id"].lower()):
        lid = item["id"]
        parts = set(lid.upper().split("-"))
        flags = []
        if "NC" in parts:
            flags.append("non-commercial")
        if "ND" in parts:
            flags.append("no-derivatives")
        if "SA" in parts or COPYLEFT.match(lid):
            flags.append("share-alike")
        if item["deprecated"]:
            flags.append("deprecated")
        licences[lid] = flags
    OUT.write_text(
        json.dumps(
            {
                "spdx_version": _spdx.VERSION,
                "source": "SPDX License List via packaging",
                "licences": licences,
            },
            indent=0,
            sort_keys=True,
        )
        + "\n"
    )
    print(f"{len(licences)} licences, SPDX {_spdx.VERSION} -> {OUT}")


if __name__ == "__main__":
    main()
