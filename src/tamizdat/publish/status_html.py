"""The mirror status page: one self-contained HTML file (inline CSS, no scripts, no fonts).

Invariant: every value from a mirror or the config is HTML-escaped, and the page loads
nothing from anywhere (DESIGN.md invariant 6 holds for the publisher's own pages too).
The page speaks the site's language (the theme's catalogs), says in plain words why a
mirror failed (the raw error stays one click away, in ``<details>``), and reads on a
phone: below 40rem each mirror is a card instead of a table row.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from tamizdat.catalogs import translations_for
from tamizdat.publish.check import CheckReport, MirrorHealth

__all__ = ["plain_problem", "render_status_html"]

# Green for what serves the current release, amber for old but authentic, red for what
# readers cannot use (unreachable included: a blocked mirror is the news here), and a
# darker red with a warning sign for a mirror that serves someone else's files.
_CLASSES = {
    "current": "ok",
    "lagging": "old",
    "stale": "old",
    "unreachable": "down",
    "not-this-publisher": "bad",
    "tampered": "bad",
}

_STYLE = """
body{font:16px/1.45 system-ui,sans-serif;margin:0 auto;max-width:70rem;padding:1rem;color:#1b1b1b}
h1{font-size:1.6rem;margin:.25rem 0}
table{border-collapse:collapse;width:100%}th,td{padding:.45rem .6rem;border-bottom:1px solid #ddd;
text-align:left;vertical-align:top}.url{color:#555;font-size:.85rem;overflow-wrap:anywhere}
.state{display:inline-block;font-weight:700;color:#fff;border-radius:3px;padding:.1rem .45rem}
.ok{background:#1b7f3b}.old{background:#8a5a00}.down{background:#b3261e}
.bad{background:#5c0011}details{font-size:.85rem;color:#555}
summary{cursor:pointer}code{overflow-wrap:anywhere;white-space:pre-wrap}
@media (max-width:40rem){thead{display:none}table,tbody,tr,td{display:block;width:100%}
tr{border:1px solid #ddd;border-radius:4px;margin:0 0 .75rem;padding:.25rem 0}
td{border:0;padding:.2rem .6rem}td[data-label]::before{content:attr(data-label) ": ";
color:#555;font-size:.85rem}}
"""

# Plain-words reasons, first match wins: (pattern over the raw error, message id).
_REASONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"timed? ?out|timeout", re.I), "did not answer in time"),
    (re.compile(r"refused", re.I), "refused the connection"),
    (
        re.compile(r"Name or service not known|getaddrinfo|nodename nor servname|NXDOMAIN", re.I),
        "its name does not resolve (DNS)",
    ),
    (re.compile(r"reset by peer|connection reset|RemoteDisconnected", re.I), "cut the connection"),
    (re.compile(r"certificate|SSL|TLS", re.I), "its TLS certificate was not accepted"),
    (re.compile(r"unreachable|no route", re.I), "cannot be reached from here"),
    (re.compile(r"\b(40[134]|5\d\d)\b"), "answered with an HTTP error"),
)


def plain_problem(problem: str, state: str, gettext: Callable[[str], str]) -> str:
    """What went wrong, in words a publisher reads at a glance (in the catalog's language)."""
    if state == "tampered":
        return gettext("served a file that is not the publisher's")
    if state == "not-this-publisher":
        return gettext("serves another publisher's site")
    for pattern, message in _REASONS:
        if pattern.search(problem):
            return gettext(message)
    return gettext("failed the check")


def _state_label(state: str, _: Callable[[str], str]) -> str:
    return {
        "current": _("current"),
        "lagging": _("lagging"),
        "stale": _("stale"),
        "unreachable": _("unreachable"),
        "not-this-publisher": _("not this publisher"),
        "tampered": _("tampered"),
    }[state]


def _row(m: MirrorHealth, _: Callable[[str], str]) -> str:
    e = html.escape
    lag = f" (−{m.lagging_by})" if m.lagging_by else ""
    # A mirror that never answered has no release: show a dash, never "release 0".
    release = f"{m.version}{lag}" if m.version else "—"
    since = m.failing_since.isoformat(timespec="minutes") if m.failing_since else ""
    state_label = _state_label(m.state, _)
    sign = "⚠ " if _CLASSES[m.state] == "bad" else ""
    problem = ""
    if m.problem or m.where:
        raw = " ".join(p for p in (m.problem, f"({m.where})" if m.where else None) if p)
        problem = (
            f"{e(plain_problem(m.problem or '', m.state, _))}"
            f"<details><summary>{e(_('Details'))}</summary><code>{e(raw)}</code></details>"
        )
    return (
        "<tr>"
        f'<td><strong>{e(m.name)}</strong><br><span class="url">{e(m.url)}</span></td>'
        f'<td data-label="{e(_("State"))}"><span class="state {_CLASSES[m.state]}">'
        f"{sign}{e(state_label)}</span></td>"
        f'<td data-label="{e(_("Release"))}">{e(release)}</td>'
        f'<td data-label="{e(_("Answered in"))}">{m.latency_ms} ms</td>'
        f'<td data-label="{e(_("Failing since"))}">{e(since) or "—"}</td>'
        f'<td data-label="{e(_("Problem"))}">{problem or "—"}</td>'
        "</tr>"
    )


def render_status_html(report: CheckReport, lang: str = "en") -> str:
    """The status page for ``report``, in ``lang`` (English where no catalog has it)."""
    _ = translations_for(lang).gettext
    e = html.escape
    rows = "\n".join(_row(m, _) for m in report.mirrors)
    checked = e(report.checked_at.isoformat(timespec="seconds"))
    heads = "".join(
        f"<th>{e(_(h))}</th>"
        for h in ("Mirror", "State", "Release", "Answered in", "Failing since", "Problem")
    )
    summary = _("Checked %(when)s; local release %(release)s.") % {
        "when": checked,
        "release": report.local_version,
    }
    worst = _CLASSES[report.worst]
    return f"""<!doctype html>
<html lang="{e(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{e(_("Mirror status"))}</title><style>{_STYLE}</style></head>
<body><h1>{e(_("Mirror status"))}</h1>
<p>{summary} <span class="state {worst}">{e(_("Worst state"))}: {e(_state_label(report.worst, _))}</span></p>
<table><thead><tr>{heads}</tr></thead>
<tbody>
{rows}
</tbody></table></body></html>
"""
