"""What the pages need from the deployment (read through ``web.envparse`` like every setting)."""

from __future__ import annotations

from dataclasses import dataclass

from web.envparse import setting


@dataclass(frozen=True)
class PageSettings:
    """What the pages need from the deployment (read through ``web.envparse`` like every setting)."""

    map_tile_url: str = setting("", "JINGYUN_MAP_TILE_URL",
                                "XYZ map tile URL template for the console map, e.g. "
                                "https://tiles.example/{z}/{x}/{y}.png; empty: plain coordinate view (offline)")
    map_attribution: str = setting("", "JINGYUN_MAP_ATTRIBUTION",
                                   "credit line the tile provider requires, shown on the map")
