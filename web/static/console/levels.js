/* P-levels on the page side: the one JavaScript copy of the scorer's thresholds
 * (shared/incidents/RUBRIC.md, dispatch/model.py): priority 8-10 → P1, 6-7 → P2, 3-5 → P3, 0-2 → P4.
 *
 * The server sends `level` with every incident (/api/incidents, /api/snapshot, live "incident"
 * events), and a dispatcher's override sets both. That level is the truth and is always preferred:
 * the thresholds only label an incident that reached the page with a priority but no level (an older
 * server, a partial event), so the page never disagrees with the server when both are present.
 */

/** [level, lowest priority of that level], most urgent first. */
export const LEVEL_FLOORS = [["P1", 8], ["P2", 6], ["P3", 3], ["P4", 0]];

/** The lowest priority of a level (levelFloor("P2") is 6). */
export const levelFloor = (level) => LEVEL_FLOORS.find(([l]) => l === level)[1];

/** The level a 0-10 priority falls in ("" for none). */
export function levelForPriority(priority) {
  if (priority == null) return "";
  for (const [level, floor] of LEVEL_FLOORS) if (priority >= floor) return level;
  return "P4"; // below every floor (not a valid priority): the least urgent, as before
}

/** An incident's level: the server's, else derived from its priority. */
export const levelOf = (inc) => inc.level || levelForPriority(inc.priority);
