/**
 * The reader's status line: the page carries a static "unverified copy" marker whose
 * attributes hold the translated status templates (rendered by the theme, in the page's
 * language); the worker replaces its text in pages it verified.
 * Invariant: only the marker between `<!--tz-status-->` and `<!--/tz-status-->` changes;
 * every value put into the page is HTML-escaped.
 */
const MARKER = /(<p class="tz-status")([^>]*)>(<!--tz-status-->)[\s\S]*?(<!--\/tz-status-->)/;

/** @type {Record<string, string>} */
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#34;": '"' };

/** @param {string} text */
export const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** @param {string} text */
const unescapeHtml = (text) => text.replace(/&(amp|lt|gt|quot|#39|#34);/g, (e) => ENTITIES[e]);

/**
 * @typedef {object} Status
 * @property {"verified" | "stale" | "offline"} state
 * @property {number} release
 * @property {string | null} published ISO time of the release's log entry
 * @property {string | null} since offline: when this browser last verified the release
 * @property {string | null} refused a mirror whose copy was refused
 * @property {string} shown the mirror the page came from
 */

/**
 * @param {string | null} iso
 * @param {string} lang
 */
function formatDate(iso, lang) {
  if (!iso) return "?";
  const options = /** @type {const} */ ({ dateStyle: "long", timeStyle: "short", timeZone: "UTC" });
  try {
    return new Intl.DateTimeFormat(lang, options).format(new Date(iso));
  } catch {
    return new Intl.DateTimeFormat("en", options).format(new Date(iso));
  }
}

/**
 * `html` with its marker rewritten for `status` (unchanged when it has no marker).
 * @param {string} html
 * @param {Status} status
 */
export function rewriteStatus(html, status) {
  const lang = /<html[^>]*\slang="([^"]+)"/.exec(html)?.[1] ?? "en";
  return html.replace(MARKER, (_all, open, attributes, start, end) => {
    /** @type {Record<string, string>} */
    const texts = {};
    for (const [, key, value] of attributes.matchAll(/\sdata-tz-(\w+)="([^"]*)"/g)) texts[key] = unescapeHtml(value);
    /** @type {Record<string, string>} */
    const values = {
      release: String(status.release),
      date: formatDate(status.published, lang),
      since: formatDate(status.since, lang),
      mirror: status.refused ?? "",
      shown: status.shown,
    };
    /** @param {string} key */
    const text = (key) => (texts[key] ?? "").replace(/\{(\w+)\}/g, (m, name) => values[name] ?? m);
    let line = text(status.state);
    if (status.refused) line += ` — ${text("refused")}`;
    return `${open}${attributes} data-tz-state="${status.state}${status.refused ? " refused" : ""}">${start}${escapeHtml(line)}${end}`;
  });
}
