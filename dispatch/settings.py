"""Dispatch settings: read from the environment by ``web.envparse`` (each ``setting`` names its variable)."""

from __future__ import annotations

from dataclasses import dataclass

from common.settings import setting


@dataclass(frozen=True)
class DispatchSettings:
    ack_timeout_s: float = setting(30.0, "JINGYUN_ACK_TIMEOUT",
                                   "seconds a unit has to acknowledge an order before escalation", lo=1, hi=3600)
    # Per-level deadlines: unset means JINGYUN_ACK_TIMEOUT. A P1 job usually deserves a shorter one.
    ack_timeout_p1_s: float | None = setting(None, "JINGYUN_ACK_TIMEOUT_P1",
                                             "acknowledgement deadline for P1 orders, seconds "
                                             "(unset: JINGYUN_ACK_TIMEOUT)", lo=1, hi=3600)
    ack_timeout_p2_s: float | None = setting(None, "JINGYUN_ACK_TIMEOUT_P2",
                                             "acknowledgement deadline for P2 orders, seconds "
                                             "(unset: JINGYUN_ACK_TIMEOUT)", lo=1, hi=3600)
    ack_timeout_p3_s: float | None = setting(None, "JINGYUN_ACK_TIMEOUT_P3",
                                             "acknowledgement deadline for P3 orders, seconds "
                                             "(unset: JINGYUN_ACK_TIMEOUT)", lo=1, hi=3600)
    ack_timeout_p4_s: float | None = setting(None, "JINGYUN_ACK_TIMEOUT_P4",
                                             "acknowledgement deadline for P4 orders, seconds "
                                             "(unset: JINGYUN_ACK_TIMEOUT)", lo=1, hi=3600)
    max_reoffers: int = setting(3, "JINGYUN_MAX_REOFFERS",
                                "times an unacknowledged order is re-offered to the next "
                                "recommended unit before only dispatchers are alerted", lo=0, hi=20)
    sweep_interval_s: float = setting(0.5, "JINGYUN_DISPATCH_SWEEP_INTERVAL",
                                      "seconds between checks for expired "
                                      "acknowledgement deadlines (one process holds the lease and acts)",
                                      lo=0.05, hi=60)
    lease_ttl_s: float = setting(5.0, "JINGYUN_DISPATCH_LEASE_TTL",
                                 "seconds the timer lease lasts without renewal before "
                                 "another process takes over", lo=1, hi=300)
    stale_location_s: float = setting(1800.0, "JINGYUN_STALE_LOCATION",
                                      "a unit location older than this many seconds is "
                                      "ranked after fresh ones in recommendations", lo=10, hi=86400)
    auto_dispatch_p1: bool = setting(False, "JINGYUN_AUTO_DISPATCH_P1",
                                     "send a P1 incident to the best recommended unit "
                                     "without waiting for a dispatcher")
    capabilities_file: str = setting("", "JINGYUN_CAPABILITIES_FILE",
                                     "YAML table of the capabilities each incident category "
                                     "requires (unset: the bundled dispatch/data/capabilities.yaml)")
    redelivery_s: float = setting(10.0, "JINGYUN_ORDER_REDELIVERY",
                                  "seconds between re-sends of an unacknowledged order "
                                  "to a connected unit", lo=1, hi=600)
    max_text_chars: int = setting(20000, "JINGYUN_MAX_INCIDENT_TEXT",
                                  "longest incident text accepted, characters", lo=100, hi=1_000_000)
    agency_domain: str = setting("futian.police.example", "JINGYUN_AGENCY_DOMAIN",
                                 "agency domain used in EIDO identifiers and as CAP sender")
    max_list: int = setting(500, "JINGYUN_MAX_LIST",
                            "most items one list request returns", lo=10, hi=100000)
    recommended_units: int = setting(10, "JINGYUN_RECOMMENDED_UNITS",
                                     "how many of the best-ranked units an order records as recommended (a unit "
                                     "chosen from further down counts as not recommended)", lo=1, hi=100)
    outcomes_file: str = setting("", "JINGYUN_OUTCOMES_FILE",
                                 "YAML table of the outcome codes an incident is closed with (unset: the "
                                 "bundled cases/data/outcomes.yaml)")
    field_photo_max_bytes: int = setting(20 * 1024 * 1024, "JINGYUN_FIELD_PHOTO_MAX_BYTES",
                                         "largest photo an officer may attach to a field note, bytes",
                                         lo=1024, hi=1024 ** 3)
    max_field_notes: int = setting(200, "JINGYUN_MAX_FIELD_NOTES",
                                   "most field notes one incident may hold (the next is refused with 409)",
                                   lo=1, hi=100000)
    accountability_max_days: int = setting(92, "JINGYUN_ACCOUNTABILITY_MAX_DAYS",
                                           "longest period one accountability report covers, days",
                                           lo=1, hi=3660)

    def ack_timeout_for(self, level: str | None) -> float:
        """The acknowledgement deadline for an order of priority level ``level`` (P1..P4)."""
        per_level = {"P1": self.ack_timeout_p1_s, "P2": self.ack_timeout_p2_s,
                     "P3": self.ack_timeout_p3_s, "P4": self.ack_timeout_p4_s}.get(level or "")
        return per_level if per_level is not None else self.ack_timeout_s
