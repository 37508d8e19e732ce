"""Correcting a unit's status when a radio update was wrong (undo), past dispatch's forward-only rules.

Dispatch's unit state machine allows forward moves only (``on_scene`` cannot go back to
``en_route``), which is right for live changes but makes a mis-heard "on scene" impossible to
undo. Until dispatch offers a correction of its own (``DispatchService.correct_unit_status``,
requested in the issue note; used automatically when present), this sets the unit's status,
writes the unit event (source ``correction``) and the audit entry in one dispatch transaction,
and tells the consoles. Orders and incidents are left as they are: a dispatcher adjusts those.
"""

from __future__ import annotations

from typing import Any

from dispatch.model import utcnow
from dispatch.tables import unit_events, units


async def correct_unit_status(dispatch: Any, unit_id: str, status: str, *, actor: str, note: str) -> dict[str, Any]:
    """Set ``unit_id`` to ``status`` as a correction (no transition check), audited."""
    if hasattr(dispatch, "correct_unit_status"):
        result: dict[str, Any] = await dispatch.correct_unit_status(unit_id, status, actor=actor, note=note)
        return result
    now = utcnow()
    async with dispatch._tx() as conn:
        unit = await dispatch._unit_row(unit_id, conn, lock=True)
        before = unit["status"]
        await conn.execute(units.update().where(units.c.id == unit_id).values(status=status, updated_at=now))
        await conn.execute(unit_events.insert().values(unit_id=unit_id, at=now, from_status=before, to_status=status,
                                                       actor=actor, source="correction", note=note[:1000]))
        await dispatch._audit(conn, actor, "unit.status.correct", f"unit:{unit_id}", {"status": before},
                              {"status": status, "source": "correction", "note": note})
    unit_now: dict[str, Any] = await dispatch.get_unit(unit_id)
    await dispatch.publish_console({"type": "unit", "action": "status", "unit": unit_now})
    return unit_now
