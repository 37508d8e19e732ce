"""Interop exports: incidents as NENA EIDO JSON (NENA-STA-021.1b, eidoVersion 1.0) and alerts as
OASIS CAP 1.2 XML. Pure functions over the service's API JSON.

Registry values (incident type, status, unit status, resource type) come from the standard's
tables; categories map to the closest APCO incident type. Priority is
``incidentCommonPriorityNumber`` 0-10 with the P-level in ``incidentPriorityInternalText``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from lxml import etree

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"

# Triage category -> EIDO-IncidentType-Common (APCO 2.103.2). (default, when P1)
INCIDENT_TYPES: Mapping[str, tuple[str, str]] = {
    "violent_crime": ("ASSAULT", "ASSAULT"), "weapons": ("WEAPON", "WEAPON"), "robbery": ("ROBBERY", "ROBBERY"),
    "theft": ("LARCENY", "LARCENY"), "burglary": ("BURGLARY", "BURGLARY"), "fraud": ("FRAUD", "FRAUD"),
    "traffic": ("MVA", "MVAINJY"), "fire": ("FOTHER", "FOTHER"), "medical": ("SICK", "PERUNCON"),
    "missing_person": ("PERMISS", "PERMISS"), "domestic": ("DVNA", "DVA"), "public_order": ("DISORD", "DISORD"),
    "suicide_risk": ("SUICTHRT", "SUICTHRT"), "hazard": ("HAZ", "HAZ"), "lost_property": ("PROPLOST", "PROPLOST"),
    "service_request": ("NONEMERG", "NONEMERG"), "other": ("SUSP", "SUSP"),
}
INCIDENT_STATUS: Mapping[str, list[str]] = {
    "new": ["Active"], "triaged": ["Active"], "dispatched": ["Active", "ResourcesAssigned"],
    "en_route": ["Active", "ResourcesEnroute"], "on_scene": ["Active", "ResourcesOnscene"],
    "closed": ["Closed"], "cancelled": ["Cancelled"], "merged": ["Closed"],
}
UNIT_SECONDARY: Mapping[str, str] = {
    "available": "InService", "dispatched": "Dispatched", "en_route": "EnRoute", "on_scene": "OnScene",
    "returning": "Cleared", "out_of_service": "OutofService",
}
ORDER_SECONDARY: Mapping[str, str] = {
    "offered": "Dispatched", "acknowledged": "AcknowledgedTransmission", "completed": "Cleared",
    "expired": "AssignmentCancelled", "withdrawn": "AssignmentCancelled",
}


def incident_type(category: str | None, level: str | None) -> str:
    """The EIDO common incident type for a triage category (TROUBLE when unscored)."""
    if not category:
        return "TROUBLE"
    default, urgent = INCIDENT_TYPES.get(category, ("SUSP", "SUSP"))
    return urgent if level == "P1" else default


def _pidf(entity: str, device: str, lat: float, lon: float, when: str, method: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?><presence xmlns="urn:ietf:params:xml:ns:pidf" '
            'xmlns:gp="urn:ietf:params:xml:ns:pidf:geopriv10" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" '
            f'xmlns:gml="http://www.opengis.net/gml" entity="pres:{xml_escape(entity)}"><dm:device id="{device}">'
            '<gp:geopriv><gp:location-info><gml:Point srsName="urn:ogc:def:crs:EPSG::4326">'
            f'<gml:pos>{lat:.6f} {lon:.6f}</gml:pos></gml:Point></gp:location-info><gp:usage-rules/>'
            f'<gp:method>{method}</gp:method></gp:geopriv><dm:timestamp>{when}</dm:timestamp></dm:device></presence>')


def to_eido(incident: Mapping[str, Any], units: Mapping[str, Mapping[str, Any]], domain: str,
            outcome: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build the EIDO for an incident (API JSON with ``orders``) and the units named in its orders.

    ``outcome``: the closing outcome's row of the outcome table (``Outcome.to_dict()``). Where it maps to an
    EIDO CommonDispositionCode the incident carries a ``dispositionComponent``; our own code and the closing
    note are in the notes either way (a code with no registry equivalent is never stretched to one)."""
    inc_id = f"urn:emergency:uid:incidentid:{incident['id']}:{domain}"
    updated = incident["updated_at"]
    agency = {"$ref": domain}

    def comp(cid: str, when: str | None = None, **fields: Any) -> dict[str, Any]:
        return {"$id": cid, "lastUpdateTimeStamp": when or updated, "updatedByAgencyReference": agency, **fields}

    locations: list[dict[str, Any]] = []
    loc = incident["location"]
    inc_loc_id = f"urn:emergency:uid:eidodatacomponent:loc-{incident['id']}:{domain}"
    if loc.get("lat") is not None or loc.get("text"):
        extra: dict[str, Any] = {}
        if loc.get("text"):
            extra["locationDescriptionText"] = loc["text"]
        if loc.get("lat") is not None:
            extra["locationByValue"] = _pidf(f"incident-{incident['id']}@{domain}", f"loc-{incident['id']}",
                                             loc["lat"], loc["lon"], incident["created_at"], "Manual")
        locations.append(comp(inc_loc_id, incident["created_at"], locationTypeDescriptionRegistryText="CurrentIncident",
                              **extra))
    notes_id = f"urn:emergency:uid:eidodatacomponent:note-{incident['id']}:{domain}"
    reasons = "; ".join(f"{r.get('factor')}: {r.get('evidence')}" for r in incident.get("reasons") or [])
    note_html = (f"<p>{html.escape(incident['text'])}</p>"
                 f"<p>Priority {incident['level'] or 'unscored'} ({incident['priority']})"
                 f"{': ' + html.escape(reasons) if reasons else ''}</p>")
    override = incident.get("priority_override")
    if override:
        note_html += (f"<p>Priority set by {html.escape(str(override['by']))}: "
                      f"{html.escape(str(override['reason']))}</p>")
    closed = incident.get("outcome")
    if closed:
        label = f" ({outcome['en']})" if outcome else ""
        note_html += (f"<p>Outcome {html.escape(str(closed['code']))}{html.escape(label)}: "
                      f"{html.escape(str(closed['note']))}</p>")
    resources: list[dict[str, Any]] = []
    seen: set[str] = set()
    for order in incident.get("orders") or []:
        unit = units.get(order["unit_id"])
        if unit is None or unit["id"] in seen:
            continue
        seen.add(unit["id"])
        rid = f"{unit['id']}.{domain}"
        secondary = [ORDER_SECONDARY[order["state"]]]
        if order["state"] in ("offered", "acknowledged") and unit["status"] in ("en_route", "on_scene"):
            secondary.append(UNIT_SECONDARY[unit["status"]])
        res = comp(rid, unit["updated_at"], emergencyResourceName=unit["callsign"],
                   emergencyResourceTypeCommonRegistryText=unit.get("eido_type", "PatrolUnit"),
                   emergencyResourceTypeInternalText=unit["unit_type"], resourceAttributeRegistryText=[],
                   primaryUnitStatusRegistryText="Available" if unit["status"] == "available" else "NotAvailable",
                   secondaryUnitStatusRegistryText=secondary, unitStatusInternal=[unit["status"], order["state"]],
                   agentReference=[])
        uloc = unit["location"]
        if uloc.get("lat") is not None:
            ul_id = f"urn:emergency:uid:eidodatacomponent:loc-{unit['id']}:{domain}"
            locations.append(comp(ul_id, uloc["at"], locationTypeDescriptionRegistryText="UnitLocation",
                                  locationByValue=_pidf(f"{unit['id']}@{domain}", f"loc-{unit['id']}", uloc["lat"],
                                                        uloc["lon"], uloc["at"], "GPS")))
            res["unitLocationReference"] = {"$ref": ul_id}
        if locations and locations[0]["$id"] == inc_loc_id:
            res["unitDestinationReference"] = {"$ref": inc_loc_id}
        resources.append(res)
    component: dict[str, Any] = comp(
        inc_id, incidentTypeCommonRegistryText=incident_type(incident["category"], incident["level"]),
        incidentTypeInternalCode=incident["category"] or "unscored",
        incidentTypeInternalText=incident["text"][:200],
        incidentStatusCommonRegistryText=INCIDENT_STATUS[incident["status"]],
        incidentStatusInternalText=[incident["status"]], internalIncidentId=incident["number"],
        notesReference=[{"$ref": notes_id}])
    if incident["priority"] is not None:
        component["incidentCommonPriorityNumber"] = int(incident["priority"])
        component["incidentPriorityInternalText"] = incident["level"]
    if locations and locations[0]["$id"] == inc_loc_id:
        component["locationReference"] = [{"$ref": inc_loc_id}]
    if closed and outcome and outcome.get("eido"):
        component["dispositionComponent"] = [comp(
            f"urn:emergency:uid:eidodatacomponent:disp-{incident['id']}:{domain}", incident.get("closed_at"),
            dispositionCommonRegistryCode=outcome["eido"], dispositionPrimaryIndicator=True,
            dispositionCategoryText=outcome["group"], dispositionDescriptionText=outcome["en"],
            notesReference=[{"$ref": notes_id}])]
    eido: dict[str, Any] = {
        "$id": inc_id, "lastUpdateTimeStamp": updated, "updatedByAgencyReference": agency, "eidoVersion": "1.0",
        "issuingElementIdentification": f"cad.{domain}", "incidentComponent": component,
        "agencyComponent": [comp(domain, agencyRoleDescriptionRegistryText=["CallReceiving", "Dispatching"],
                                 agencyType=["police"], incidentOwningAgencyIndicator=True)],
        "notesComponent": [comp(notes_id, notesActionComments=note_html)],
    }
    if resources:
        eido["emergencyResourceComponent"] = resources
        eido["dispatchComponent"] = [comp(f"urn:emergency:uid:eidodatacomponent:dsp-{incident['id']}:{domain}",
                                          agencyReference=agency,
                                          emergencyResourceReference=[{"$ref": r["$id"]} for r in resources])]
    if locations:
        eido["locationComponent"] = locations
    return eido


def cap_time(value: str | dt.datetime) -> str:
    """CAP wants ``YYYY-MM-DDThh:mm:ss+hh:mm``: no ``Z`` and no fractional seconds."""
    when = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return when.astimezone(dt.UTC).replace(microsecond=0).isoformat()


_SEVERITY = {"severe": "Severe", "extreme": "Extreme", "moderate": "Moderate", "warning": "Minor", "minor": "Minor"}
_CATEGORY = {"fire": "Fire", "medical": "Health", "traffic": "Transport", "hazard": "Safety",
             "missing_person": "Rescue", "suicide_risk": "Rescue"}


def alert_to_cap(alert: Mapping[str, Any], incident: Mapping[str, Any] | None, domain: str) -> bytes:
    """A dispatcher alert as a CAP 1.2 ``alert`` (scope Restricted: it is for police staff)."""
    root = etree.Element(f"{{{CAP_NS}}}alert", nsmap={None: CAP_NS})

    def sub(parent: Any, name: str, text: str) -> Any:
        el = etree.SubElement(parent, f"{{{CAP_NS}}}{name}")
        el.text = text
        return el

    sub(root, "identifier", f"{domain}.alert.{alert['id']}")
    sub(root, "sender", f"dispatch@{domain}")
    sub(root, "sent", cap_time(alert["created_at"]))
    sub(root, "status", "Actual")
    sub(root, "msgType", "Alert")
    sub(root, "source", "Jingyun dispatch")
    sub(root, "scope", "Restricted")
    sub(root, "restriction", "police dispatch staff only")
    if incident is not None:
        sub(root, "incidents", incident["number"])
    # One info block per language the alert was worded in (CAP 1.2 §3.2.2): English always, Chinese
    # when the alert carries it (alerts raised before migration 0050 have English only).
    texts = [("en-US", str(alert["message"]))]
    if alert.get("message_zh"):
        texts.append(("zh-CN", str(alert["message_zh"])))
    category = _CATEGORY.get(str(incident["category"]) if incident else "", "Security")
    for language, text in texts:
        info = etree.SubElement(root, f"{{{CAP_NS}}}info")
        sub(info, "language", language)
        sub(info, "category", category)
        sub(info, "event", str(alert["kind"]).replace("_", " "))
        sub(info, "urgency", "Immediate" if alert["severity"] in ("severe", "extreme") else "Expected")
        sub(info, "severity", _SEVERITY.get(str(alert["severity"]), "Unknown"))
        sub(info, "certainty", "Observed")
        sub(info, "senderName", "Jingyun dispatch")
        sub(info, "headline", text[:160])
        sub(info, "description", text)
        if incident is not None:
            param = etree.SubElement(info, f"{{{CAP_NS}}}parameter")
            sub(param, "valueName", "incidentCommonPriorityNumber")
            sub(param, "value", "" if incident["priority"] is None else str(incident["priority"]))
            loc = incident["location"]
            if loc.get("text") or loc.get("lat") is not None:
                area = etree.SubElement(info, f"{{{CAP_NS}}}area")
                sub(area, "areaDesc", loc.get("text") or f"{loc['lat']:.5f},{loc['lon']:.5f}")
                if loc.get("lat") is not None:
                    sub(area, "circle", f"{loc['lat']:.6f},{loc['lon']:.6f} 0.5")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def units_by_id(units: Sequence[Mapping[str, Any]], eido_types: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """Units keyed by id, each with its EIDO resource type from the capability table."""
    return {u["id"]: {**u, "eido_type": eido_types.get(u["unit_type"], "PatrolUnit")} for u in units}
