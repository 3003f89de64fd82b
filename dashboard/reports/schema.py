"""The demo MES tables (SQLAlchemy Core, portable across SQLite, PostgreSQL, MySQL and Oracle)."""

from __future__ import annotations

from sqlalchemy import (
    Column,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
)

metadata = MetaData()

workcenters = Table(
    "mes_workcenter", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(16), nullable=False, unique=True),
    Column("name", String(64), nullable=False),
    Column("area", String(32), nullable=False),
)

equipment = Table(
    "mes_equipment", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("code", String(16), nullable=False, unique=True),
    Column("workcenter_id", Integer, ForeignKey("mes_workcenter.id"), nullable=False),
    Column("status", String(8), nullable=False),  # RUN | IDLE | DOWN | PM
    Column("status_since", DateTime, nullable=False),
)

lots = Table(
    "mes_lot", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("lot_no", String(16), nullable=False, unique=True),
    Column("product", String(16), nullable=False),
    Column("workcenter_id", Integer, ForeignKey("mes_workcenter.id"), nullable=False),
    Column("qty", Integer, nullable=False),
    Column("state", String(8), nullable=False),  # WIP | HOLD | DONE
    Column("hold_reason", String(64)),
    Column("started_at", DateTime, nullable=False),
    Column("updated_at", DateTime, nullable=False),
)

daily_output = Table(
    "mes_daily_output", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("day", Date, nullable=False),
    Column("workcenter_id", Integer, ForeignKey("mes_workcenter.id"), nullable=False),
    Column("product", String(16), nullable=False),
    Column("qty_good", Integer, nullable=False),
    Column("qty_scrap", Integer, nullable=False),
)
