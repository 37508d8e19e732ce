"""Correcting a unit's status when a radio update was wrong (undo), past dispatch's forward-only rules.

Dispatch's unit state machine allows forward moves only (``on_scene`` cannot go back to
``en_route``), which is right for live changes but makes a mis-heard "on scene" impossible to
undo; :meth:`dispatch.service.DispatchService.correct_unit_status` records such a correction.
"""

from __future__ import annotations

from typing import Any


async def correct_unit_status(dispatch: Any, unit_id: str, status: str, *, actor: str, note: str) -> dict[str, Any]:
    """Set ``unit_id`` to ``status`` as a correction (no transition check), audited."""
    result: dict[str, Any] = await dispatch.correct_unit_status(unit_id, status, actor=actor, note=note)
    return result
