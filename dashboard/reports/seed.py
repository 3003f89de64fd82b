"""Deterministic demo data: the same rows on every machine and every database.

A fixed random seed and a fixed "today" make report answers reproducible, so tests can compare
SQLite and PostgreSQL results and screenshots stay comparable between runs.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from dashboard.reports.schema import daily_output, equipment, lots, metadata, workcenters

SEED = 20261128
TODAY = date(2026, 11, 27)
PRODUCTS = ["AX-100", "AX-200", "BR-310", "CM-420", "DX-550"]
AREAS = {"FAB": ["LITHO", "ETCH", "DEPO", "CMP"], "ASSY": ["DIE", "BOND", "MOLD"],
         "TEST": ["PROBE", "FINAL", "BURN"], "PACK": ["MARK", "PACK"]}
HOLD_REASONS = ["Quality inspection", "Engineering review", "Material shortage",
                "Equipment alarm", "Customer request", "Recipe mismatch"]
EQUIPMENT_STATUS = ["RUN"] * 6 + ["IDLE"] * 2 + ["DOWN", "PM"]
LOT_COUNT = 4000
OUTPUT_DAYS = 60


def init_db(engine: Engine) -> bool:
    """Create the tables and seed them when empty; ``True`` when rows were added. Idempotent."""
    metadata.create_all(engine)
    with engine.begin() as connection:
        if connection.execute(select(func.count()).select_from(workcenters)).scalar_one():
            return False
        rows = build_rows()
        for table in (workcenters, equipment, lots, daily_output):
            for start in range(0, len(rows[table.name]), 1000):
                connection.execute(table.insert(), rows[table.name][start:start + 1000])
    return True


def build_rows() -> dict[str, list[dict[str, Any]]]:
    """Every demo row, generated from :data:`SEED`."""
    rng = random.Random(SEED)
    now = datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=14)
    centers: list[dict[str, Any]] = []
    for area, names in AREAS.items():
        for name in names:
            centers.append({"id": len(centers) + 1, "code": f"{area[:2]}-{name[:4]}",
                            "name": name.title(), "area": area})
    machines: list[dict[str, Any]] = []
    for center in centers:
        for n in range(rng.randint(3, 6)):
            machines.append({
                "id": len(machines) + 1, "code": f"{center['code']}-{n + 1:02d}",
                "workcenter_id": center["id"], "status": rng.choice(EQUIPMENT_STATUS),
                "status_since": now - timedelta(minutes=rng.randint(5, 60 * 48)),
            })
    lot_rows = []
    for n in range(LOT_COUNT):
        started = now - timedelta(hours=rng.randint(1, 24 * 30))
        state = rng.choices(["WIP", "HOLD", "DONE"], weights=[55, 8, 37])[0]
        lot_rows.append({
            "id": n + 1, "lot_no": f"L{TODAY:%y%m}{n + 1:05d}",
            "product": rng.choice(PRODUCTS), "workcenter_id": rng.choice(centers)["id"],
            "qty": rng.choice([25, 25, 25, 50, 100]), "state": state,
            "hold_reason": rng.choice(HOLD_REASONS) if state == "HOLD" else None,
            "started_at": started,
            "updated_at": started + timedelta(minutes=rng.randint(1, 600)),
        })
    outputs: list[dict[str, Any]] = []
    for day_offset in range(OUTPUT_DAYS):
        day = TODAY - timedelta(days=day_offset)
        for center in centers:
            for product in PRODUCTS:
                good = rng.randint(50, 400)
                outputs.append({"id": len(outputs) + 1, "day": day,
                                "workcenter_id": center["id"], "product": product,
                                "qty_good": good, "qty_scrap": rng.randint(0, good // 15)})
    return {workcenters.name: centers, equipment.name: machines, lots.name: lot_rows,
            daily_output.name: outputs}
