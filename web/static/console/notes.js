/* Field notes in the incident detail: what officers wrote from the scene, each with its photo when one
 * was kept (fetched with the page token, shown from a blob URL; the sha256 the server recorded is shown
 * beside it). The notes come with GET /api/incidents/{id} (field_notes).
 */
const { h, t } = JY;
const photos = new Map(); // photo url -> object URL (or a pending promise)

async function photoURL(url) {
  if (!photos.has(url)) {
    photos.set(url, JY.api("GET", url, undefined, { raw: true }).then(async (resp) => {
      const obj = URL.createObjectURL(await resp.blob());
      photos.set(url, obj);
      return obj;
    }, (e) => { photos.delete(url); throw e; }));
  }
  return photos.get(url);
}

function photoImg(note) {
  const p = note.photo;
  const img = h("img.field-photo", { alt: t("notes.photoAlt", { t: JY.clock(p.at) }), dataset: { sha256: p.sha256 } });
  const known = photos.get(p.url);
  if (typeof known === "string") img.src = known;
  else photoURL(p.url).then((u) => { img.src = u; }, (e) => { img.replaceWith(h("span.error-text", { text: JY.errorText(e) })); });
  return h("figure", null, img,
    h("figcaption.hint", { text: t("notes.photoMeta", { kb: Math.max(1, Math.round(p.size / 1024)), sha: p.sha256.slice(0, 12) }) }));
}

/** The "Field notes" section of an incident, or null when it has none. */
export function notesPart(inc, unitName) {
  const notes = inc.field_notes || [];
  if (!notes.length) return null;
  return [h("h3", { text: t("notes.title") + ` (${notes.length})` }),
    h("ul.plain.field-notes#field-notes", null, notes.map((n) => h("li", { dataset: { note: n.id } },
      h("div.hint", { text: `${JY.clock(n.created_at)} · ${n.unit_id ? unitName(n.unit_id) : n.author}` }),
      h("div.text", { text: n.text }),
      n.photo ? photoImg(n) : null)))];
}
