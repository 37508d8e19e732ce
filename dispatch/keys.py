"""Dispatch's Redis keys and channels, built from the configured prefix.

Other packages keep theirs beside them (``voice/radio/keys.py``, ``analytics/keys.py``); every name
has its own fixed part after the prefix, so none collide.
"""

from __future__ import annotations

ORDER_GROUP = "officers"  # consumer group on every unit's order stream; the consumer is the unit id


def console_channel(prefix: str) -> str:
    """Pub/sub channel of live events for every dispatcher console (losable fan-out)."""
    return f"{prefix}console"


def unit_channel(prefix: str) -> str:
    """Pub/sub channel telling every process that a unit's stream has news (wake-up only, losable)."""
    return f"{prefix}unit-notify"


def order_stream(prefix: str, unit_id: str) -> str:
    """The durable Stream of orders for one unit (consumer group :data:`ORDER_GROUP`)."""
    return f"{prefix}orders:{unit_id}"


def order_entries(prefix: str) -> str:
    """Hash: order id -> its entry id in the unit's Stream (so an ack can XACK the right entry)."""
    return f"{prefix}order-entries"


def ack_deadlines(prefix: str) -> str:
    """Sorted set: order id scored by its acknowledgement deadline (epoch seconds)."""
    return f"{prefix}ack-deadlines"


def timer_lease(prefix: str) -> str:
    """Lease held by the one process that runs the acknowledgement timers."""
    return f"{prefix}lease:dispatch-timers"


def incident_seq(prefix: str, day: str) -> str:
    """Counter behind human-readable incident numbers, one per UTC day."""
    return f"{prefix}incident-seq:{day}"


def dispatch_lock(prefix: str, incident_id: str, unit_id: str) -> str:
    """Short lock so a double-clicked dispatch across processes creates one order."""
    return f"{prefix}lock:dispatch:{incident_id}:{unit_id}"


def audit_head(prefix: str) -> str:
    """The last audit entry's ``seq:hash``, kept outside the database so truncation is detected."""
    return f"{prefix}audit-head"

