/* Rendering, batched per animation frame: a change anywhere marks the panels it affects dirty
 * (invalidate("queue", "map")), and each dirty panel is redrawn once in the next frame however many
 * events arrived meanwhile.
 *
 * Each panel's module registers its render function under its name (onRender); they run in the fixed
 * order below, the order of the single-file console (the queue before the detail, so a selection
 * change shows in both in the same frame).
 *
 * A redraw asked for while a mouse button is down waits for its release (JY.afterPress), so an event
 * arriving mid-click cannot swallow the dispatcher's click.
 */
const ORDER = ["queue", "detail", "units", "map", "radio", "drafts", "alerts"];
const renderers = new Map();
let dirty = new Set();
let frame = 0;

/** Register a panel's render function (once, when its module loads). */
export function onRender(part, fn) {
  if (!ORDER.includes(part)) throw new Error("unknown console panel " + part);
  renderers.set(part, fn);
}

export function invalidate(...parts) {
  parts.forEach((p) => dirty.add(p));
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  JY.afterPress(redraw);
}

function redraw() {
  frame = 0;
  const d = dirty;
  dirty = new Set();
  for (const part of ORDER) if (d.has(part)) renderers.get(part)?.();
}
