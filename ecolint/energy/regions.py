"""Grid carbon intensity and electricity price per region, read from ``data/grid_and_prices.csv``.

``data/regions.csv`` maps each region code to rows of that table; a region without a price row has
no price (the caller must be given one).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

# The upstream file every grid and price figure was copied from, at the commit copied (SOURCES.md).
UPSTREAM = (
    "https://github.com/hongping-zh/ecocompute-dynamic-eval/blob/12d7ad17d80f69fbd54ed9e86b2e68cc6a80144d/"
)
# The advisor's default PUE for cloud hardware, and where a user can check it.
CLOUD_PUE = 1.1
CLOUD_PUE_SOURCE = (
    "cloud default: Google published a fleet PUE of 1.1 for the second quarter of 2021 (reported in "
    "https://www.cnbc.com/2022/04/13/google-data-center-goal-100percent-green-energy-by-2030.html; Google's own "
    "page https://www.google.com/about/datacenters/efficiency/ not verified); typical enterprise data centres "
    "run higher (the same article quotes 1.57 for large data centres), so pass --pue"
)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    gco2_per_kwh: float
    grid_source: str
    usd_per_kwh: float | None
    price_source: str | None
    note: str


def _table(name: str) -> list[dict]:
    with (
        resources.files("ecolint.energy.data")
        .joinpath(name)
        .open(encoding="utf-8", newline="") as handle
    ):
        return list(csv.DictReader(handle))


@lru_cache(maxsize=None)
def regions() -> dict[str, Region]:
    """Every supported region by code (``us``, ``cn``, ``eu``, ``fr``, ``no``, ``in``)."""
    grid = {row["region"]: row for row in _table("grid_and_prices.csv") if row["gco2_per_kwh"]}
    price = {row["region"]: row for row in _table("grid_and_prices.csv") if row["usd_per_kwh"]}
    found: dict[str, Region] = {}
    for row in _table("regions.csv"):
        g = grid[row["grid_row"]]
        p = price.get(row["price_row"]) if row["price_row"] else None
        found[row["region"]] = Region(
            code=row["region"],
            name=row["name"],
            gco2_per_kwh=float(g["gco2_per_kwh"]),
            grid_source=_source(g, row.get("grid_check", "")),
            usd_per_kwh=float(p["usd_per_kwh"]) if p else None,
            price_source=_source(p, row.get("price_check", "")) if p else None,
            note=row["note"],
        )
    return found


def _source(row: dict, check: str) -> str:
    """The figure's label, the upstream file it was copied from (a URL at the commit), and its check."""
    text = f"{row['source']}, as written in {UPSTREAM}{row['source_file']}"
    return f"{text}; checked: {check}" if check else text
