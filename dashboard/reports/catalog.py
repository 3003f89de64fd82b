"""The demo MES reports: each a name, a title, validated parameters and one portable query.

Aggregation is done in SQL where every dialect agrees (COUNT, SUM, GROUP BY) and finished in
Python (ratios, ages), so the same report answers identically on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from dashboard.reports.schema import daily_output, equipment, lots, workcenters
from dashboard.reports.seed import AREAS, TODAY


class ParameterError(ValueError):
    """A report parameter is invalid; the message names it and is safe to show."""


@dataclass(frozen=True)
class Control:
    """One parameter a report accepts, described so a page can offer a control for it.

    ``kind`` is ``"select"`` (one of ``options``, empty meaning "all") or ``"number"`` (a whole
    number from ``low`` to ``high``). ``default`` is what the report uses when it is absent.
    """

    name: str
    label: str
    kind: str
    default: str = ""
    options: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "label": self.label, "kind": self.kind,
                "default": self.default, "options": list(self.options),
                "min": self.low, "max": self.high}


@dataclass(frozen=True)
class Report:
    name: str
    title: str
    description: str
    columns: list[dict[str, str]]
    run: Callable[[Connection, Mapping[str, str]], list[dict[str, Any]]]
    chart: dict[str, str] | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    controls: tuple[Control, ...] = ()

    def summary(self) -> dict[str, str]:
        return {"name": self.name, "title": self.title, "description": self.description}


def _int_param(params: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ParameterError(f"{name} must be a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise ParameterError(f"{name} must be a whole number from {low} to {high}")
    return value


def _area_param(params: Mapping[str, str]) -> str | None:
    area = params.get("area") or None
    if area is not None and area not in AREAS:
        raise ParameterError(f"area must be one of {', '.join(AREAS)}")
    return area


def wip_by_workcenter(conn: Connection, params: Mapping[str, str]) -> list[dict[str, Any]]:
    area = _area_param(params)
    query = (
        select(workcenters.c.code, workcenters.c.name, workcenters.c.area,
               func.count(lots.c.id).label("lots"), func.coalesce(func.sum(lots.c.qty), 0))
        .select_from(workcenters.outerjoin(
            lots, (lots.c.workcenter_id == workcenters.c.id) & (lots.c.state == "WIP")))
        .group_by(workcenters.c.code, workcenters.c.name, workcenters.c.area)
        .order_by(workcenters.c.code)
    )
    if area:
        query = query.where(workcenters.c.area == area)
    return [{"workcenter": code, "name": name, "area": area_, "lots": int(count),
             "wafers": int(qty)} for code, name, area_, count, qty in conn.execute(query)]


def equipment_status(conn: Connection, params: Mapping[str, str]) -> list[dict[str, Any]]:
    area = _area_param(params)
    query = (
        select(workcenters.c.code, equipment.c.status, func.count(equipment.c.id))
        .select_from(workcenters.join(equipment, equipment.c.workcenter_id == workcenters.c.id))
        .group_by(workcenters.c.code, equipment.c.status)
        .order_by(workcenters.c.code)
    )
    if area:
        query = query.where(workcenters.c.area == area)
    table: dict[str, dict[str, Any]] = {}
    for code, status, count in conn.execute(query):
        row = table.setdefault(code, {"workcenter": code, "RUN": 0, "IDLE": 0, "DOWN": 0,
                                      "PM": 0})
        row[status] = int(count)
    for row in table.values():
        total = row["RUN"] + row["IDLE"] + row["DOWN"] + row["PM"]
        row["availability_pct"] = round(100 * (row["RUN"] + row["IDLE"]) / total, 1)
    return list(table.values())


def lots_on_hold(conn: Connection, params: Mapping[str, str]) -> list[dict[str, Any]]:
    limit = _int_param(params, "limit", 100, 1, 500)
    query = (
        select(lots.c.lot_no, lots.c.product, workcenters.c.code, lots.c.qty,
               lots.c.hold_reason, lots.c.updated_at)
        .select_from(lots.join(workcenters, lots.c.workcenter_id == workcenters.c.id))
        .where(lots.c.state == "HOLD")
        .order_by(lots.c.updated_at, lots.c.lot_no)
        .limit(limit)
    )
    now = _report_now()
    return [{"lot": lot_no, "product": product, "workcenter": code, "qty": qty,
             "reason": reason, "hours_on_hold": round((now - since).total_seconds() / 3600, 1)}
            for lot_no, product, code, qty, reason, since in conn.execute(query)]


def daily_output_report(conn: Connection, params: Mapping[str, str]) -> list[dict[str, Any]]:
    days = _int_param(params, "days", 14, 1, 60)
    first_day = TODAY - timedelta(days=days - 1)
    query = (
        select(daily_output.c.day, func.sum(daily_output.c.qty_good),
               func.sum(daily_output.c.qty_scrap))
        .where(daily_output.c.day >= first_day)
        .group_by(daily_output.c.day)
        .order_by(daily_output.c.day)
    )
    rows = []
    for day, good, scrap in conn.execute(query):
        good, scrap = int(good), int(scrap)
        rows.append({"day": day.isoformat(), "good": good, "scrap": scrap,
                     "yield_pct": round(100 * good / (good + scrap), 2)})
    return rows


def _report_now() -> Any:
    from datetime import datetime

    return datetime.combine(TODAY, datetime.min.time()) + timedelta(hours=14)


AREA = Control("area", "Area", "select", options=tuple(AREAS))
LIMIT = Control("limit", "Lots (at most)", "number", default="100", low=1, high=500)
DAYS = Control("days", "Days", "number", default="14", low=1, high=60)

REPORTS: dict[str, Report] = {report.name: report for report in [
    Report("wip-by-workcenter", "WIP by workcenter",
           "Lots and wafers in process at each workcenter.",
           [{"key": "workcenter", "label": "Workcenter"}, {"key": "name", "label": "Name"},
            {"key": "area", "label": "Area"}, {"key": "lots", "label": "Lots"},
            {"key": "wafers", "label": "Wafers"}],
           wip_by_workcenter, chart={"type": "bar", "x": "workcenter", "y": "wafers"},
           parameters={"area": "FAB | ASSY | TEST | PACK"}, controls=(AREA,)),
    Report("equipment-status", "Equipment status",
           "Tools per state at each workcenter, and availability.",
           [{"key": "workcenter", "label": "Workcenter"}, {"key": "RUN", "label": "Run"},
            {"key": "IDLE", "label": "Idle"}, {"key": "DOWN", "label": "Down"},
            {"key": "PM", "label": "PM"}, {"key": "availability_pct", "label": "Availability %"}],
           equipment_status, chart={"type": "bar", "x": "workcenter", "y": "availability_pct"},
           parameters={"area": "FAB | ASSY | TEST | PACK"}, controls=(AREA,)),
    Report("lots-on-hold", "Lots on hold", "Held lots, longest-held first.",
           [{"key": "lot", "label": "Lot"}, {"key": "product", "label": "Product"},
            {"key": "workcenter", "label": "Workcenter"}, {"key": "qty", "label": "Qty"},
            {"key": "reason", "label": "Reason"}, {"key": "hours_on_hold", "label": "Hours"}],
           lots_on_hold, parameters={"limit": "1..500 (default 100)"}, controls=(LIMIT,)),
    Report("daily-output", "Daily output", "Good and scrapped units per day, with yield.",
           [{"key": "day", "label": "Day"}, {"key": "good", "label": "Good"},
            {"key": "scrap", "label": "Scrap"}, {"key": "yield_pct", "label": "Yield %"}],
           daily_output_report, chart={"type": "bar", "x": "day", "y": "good"},
           parameters={"days": "1..60 (default 14)"}, controls=(DAYS,)),
]}
