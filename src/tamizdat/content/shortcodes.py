"""Hugo shortcodes in a Markdown body → plain Markdown/HTML, or an error naming them.

Invariant: no shortcode reaches the renderer as text without the author being told. Each
``{{< name … >}}`` / ``{{% name … %}}`` outside code is either translated (``figure`` → a
``<figure>`` whose ``<img>`` goes through the ordinary body-image path, so it is re-encoded
and stripped like any other; ``highlight`` → a fenced code block; video and social embeds →
a plain link, with a warning, because an embed loads a third party; ``ref``/``relref`` →
a placeholder the loader replaces with the page's relative URL) or refused with
``FILE:LINE`` and its name (a warning instead under ``unknown = "warn"``). ``{{</* … */>}}``
prints ``{{< … >}}`` literally, as Hugo does, also inside code. Other shortcodes inside code
spans and fenced blocks are left as written: in a migrated site they are examples of
shortcode syntax, and executing an embed inside ``<pre>`` would print markup, not a player.

The pass runs at parse time and depends only on the body and the policy, so a cached parse
stays valid. Text without ``{{<`` or ``{{%`` is returned unchanged.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from tamizdat.content.body import _mask_code
from tamizdat.errors import ContentError, quoted

__all__ = [
    "EMBEDS",
    "MAX_SHORTCODE_CHARS",
    "ShortcodeResult",
    "UnknownPolicy",
    "page_ref_token",
    "translate_shortcodes",
]

UnknownPolicy = Literal["fail", "warn"]

# The longest shortcode read: bounds the work an unclosed ``{{<`` can cause.
MAX_SHORTCODE_CHARS = 4096
_UP_TO = "{0," + str(MAX_SHORTCODE_CHARS) + "}"
_OPENER = re.compile(r"\{\{[<%]")
# ``{{</* figure src="x" */>}}`` → ``{{< figure src="x" >}}`` (Hugo's escape).
# No ``{{`` inside: a run of unclosed escapes costs one short scan each, not one each to the end.
_ESCAPED = re.compile(
    r"\{\{([<%])/\*((?:(?!\{\{).)" + _UP_TO + r"?)\*/([>%])\}\}",
    re.DOTALL,
)
# A quoted value may hold ``>}}``; backquotes are Hugo's raw strings.
_ARGS = r'(?:"(?:[^"\\]|\\.)' + _UP_TO + r'"|`[^`]' + _UP_TO + r'`|[^"`])' + _UP_TO + "?"
_SHORTCODE = re.compile(
    r"\{\{(?:(?P<angle><)|%)\s*(?P<close>/?)\s*(?P<name>\w[\w./-]*)(?P<args>"
    + _ARGS
    + r")\s*(?(angle)>|%)\}\}",
    re.DOTALL,
)
_PARAM = re.compile(
    r'\s*(?:(?P<key>[\w-]+)\s*=\s*)?(?:"(?P<dq>(?:[^"\\]|\\.)*)"|`(?P<bq>[^`]*)`|(?P<bare>[^\s"`]+))'
)
_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_LANG = re.compile(r"^[\w+#.-]{1,32}$")
_PAIRED = frozenset({"highlight"})
# Presentation parameters of Hugo's figure that have no meaning under the theme's CSS.
_FIGURE_IGNORED = frozenset({"class", "width", "height", "loading", "target", "rel"})
_FIGURE_KNOWN = frozenset({"src", "alt", "caption", "title", "link", "attr", "attrlink"})

# Embed shortcode → (URL pattern, parameter names in positional order).
EMBEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "youtube": ("https://www.youtube.com/watch?v={id}", ("id",)),
    "vimeo": ("https://vimeo.com/{id}", ("id",)),
    "instagram": ("https://www.instagram.com/p/{id}/", ("id",)),
    "tweet": ("https://x.com/{user}/status/{id}", ("user", "id")),
    "x": ("https://x.com/{user}/status/{id}", ("user", "id")),
    "gist": ("https://gist.github.com/{user}/{id}", ("user", "id")),
}
# Every name translated; the end of any other paired shortcode is kept under "warn".
# Every name translated; the end of any other paired shortcode is kept under "warn".
_KNOWN = frozenset({"figure", "ref", "relref", *_PAIRED, *EMBEDS})


@dataclass(frozen=True, slots=True)
class ShortcodeResult:
    """The translated body and one warning per embed turned into a link (``FILE:LINE: …``)."""

    body: str
    warnings: tuple[str, ...]
    # ``ref``/``relref`` targets as written, with their lines; the body holds
    # :func:`page_ref_token` ``(i)`` where the i-th one's URL goes (the loader knows URLs).
    page_refs: tuple[tuple[str, int], ...] = ()


def page_ref_token(index: int) -> str:
    """The placeholder for the ``index``-th page reference of a translated body.

    It holds NUL, which :func:`translate_shortcodes` replaces in the author's text (as
    CommonMark does), so an author cannot write one.
    """
    return f"\x00ref{index}\x00"


@dataclass(frozen=True, slots=True)
class _Call:
    name: str
    named: dict[str, str]
    positional: tuple[str, ...]
    where: str


def _parse_params(args: str, name: str, where: str) -> tuple[dict[str, str], tuple[str, ...]]:
    named: dict[str, str] = {}
    positional: list[str] = []
    pos = 0
    args = args.strip()
    while pos < len(args):
        match = _PARAM.match(args, pos)
        if match is None or match.end() == pos:
            raise ContentError(
                f"shortcode {quoted(name)}: cannot read its parameters {quoted(args[pos:])}",
                where=where,
            )
        value = match.group("bare")
        if match.group("dq") is not None:
            value = re.sub(r"\\(.)", r"\1", match.group("dq"))
        elif match.group("bq") is not None:
            value = match.group("bq")
        assert value is not None  # one of the three alternatives matched
        if match.group("key"):
            named[match.group("key")] = value
        else:
            positional.append(value)
        pos = match.end()
        while pos < len(args) and args[pos].isspace():
            pos += 1
    if named and positional:
        raise ContentError(
            f"shortcode {quoted(name)} mixes named and positional parameters",
            where=where,
            hint='Hugo accepts one kind or the other; write all as name="value"',
        )
    return named, tuple(positional)


def _param(call: _Call, key: str, index: int) -> str | None:
    if key in call.named:
        return call.named[key]
    return call.positional[index] if index < len(call.positional) else None


def _figure(call: _Call) -> str:
    src = _param(call, "src", 0)
    if not src:
        raise ContentError("shortcode 'figure' has no src", where=call.where)
    unknown = sorted(set(call.named) - _FIGURE_KNOWN - _FIGURE_IGNORED)
    if unknown:
        raise ContentError(
            f"shortcode 'figure' has unknown parameters {', '.join(map(quoted, unknown))}",
            where=call.where,
            hint="known: " + ", ".join(sorted(_FIGURE_KNOWN | _FIGURE_IGNORED)),
        )
    named = call.named
    image = f'<img src="{html.escape(src)}" alt="{html.escape(named.get("alt", ""))}">'
    if named.get("link"):
        image = f'<a href="{html.escape(named["link"])}">{image}</a>'
    caption = []
    if named.get("title"):
        caption.append(f"<strong>{html.escape(named['title'])}</strong>")
    if named.get("caption"):
        caption.append(html.escape(named["caption"]))
    if named.get("attr"):
        attr = html.escape(named["attr"])
        if named.get("attrlink"):
            attr = f'<a href="{html.escape(named["attrlink"])}">{attr}</a>'
        caption.append(attr)
    figcaption = f"<figcaption>{' '.join(caption)}</figcaption>" if caption else ""
    return f"<figure>{image}{figcaption}</figure>"


def _embed(call: _Call) -> str:
    pattern, keys = EMBEDS[call.name]
    if call.name in ("tweet", "x") and not call.named and len(call.positional) == 1:
        pattern, keys = "https://x.com/i/status/{id}", ("id",)
    values = {}
    for index, key in enumerate(keys):
        value = _param(call, key, index)
        if value is None or not _ID.match(value):
            raise ContentError(
                f"shortcode {quoted(call.name)}: {key!r} must be letters, digits, '.', '_' or "
                f"'-', found {quoted(value)}",
                where=call.where,
            )
        values[key] = quote(value, safe="")
    return "<" + pattern.format(**values) + ">"


def _highlight(call: _Call, inner: str) -> str:
    lang = _param(call, "lang", 0) or ""
    if lang and not _LANG.match(lang):
        raise ContentError(f"shortcode 'highlight': bad language {quoted(lang)}", where=call.where)
    longest = max((len(m) for m in re.findall(r"`+", inner)), default=0)
    fence = "`" * max(3, longest + 1)
    code = inner if inner.startswith("\n") else "\n" + inner
    code = code if code.endswith("\n") else code + "\n"
    return f"{fence}{lang}{code}{fence}"


def _unescape(text: str) -> str:
    return _ESCAPED.sub(lambda m: "{{" + m.group(1) + m.group(2) + m.group(3) + "}}", text)


class _Lines:
    """File lines of body offsets, counted forward only (offsets are asked in order)."""

    def __init__(self, body: str, first: int) -> None:
        self.body = body
        self.offset = 0
        self.line = first

    def at(self, offset: int) -> int:
        self.line += self.body.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


@dataclass(slots=True)
class _Pass:
    """One body's translation in progress."""

    body: str
    masked: str
    source: str
    unknown: UnknownPolicy
    lines: _Lines
    warnings: list[str]
    refs: list[tuple[str, int]]

    def translate(self, match: re.Match[str], call: _Call, line: int) -> tuple[str | None, int]:
        """The replacement of the shortcode ``match`` (None: keep it) and where it ends."""
        name, end = call.name, match.end()
        if name == "figure":
            return _figure(call), end
        if name in EMBEDS:
            text = _embed(call)
            self.warnings.append(
                f"{call.where}: shortcode {quoted(name)} became a link to {text[1:-1]}, not "
                "an embedded player: an embed would make every reader's browser contact a "
                "third party"
            )
            return text, end
        if name in _PAIRED:
            closing = re.compile(r"\{\{[<%]\s*/\s*" + re.escape(name) + r"\s*[>%]\}\}")
            close = closing.search(self.masked, end)
            if close is None:
                raise ContentError(
                    f"shortcode {quoted(name)} is not closed",
                    where=call.where,
                    hint=f"end it with {{{{< /{name} >}}}}",
                )
            return _highlight(call, _unescape(self.body[end : close.start()])), close.end()
        if name in ("ref", "relref"):
            target = _param(call, "path", 0)
            if not target:
                raise ContentError(f"shortcode {quoted(name)} names no page", where=call.where)
            self.refs.append((target, line))
            return page_ref_token(len(self.refs) - 1), end
        if self.unknown == "warn":
            self.warnings.append(
                f"{call.where}: Hugo shortcode {quoted(name)} has no tamizdat equivalent and "
                "is printed as written"
            )
            return None, end
        raise ContentError(
            f"Hugo shortcode {quoted(name)} has no tamizdat equivalent",
            where=call.where,
            hint="replace it with Markdown or HTML (see docs/migrating-from-hugo.md), "
            'or set [build] unknown_shortcodes = "warn" to print it as written',
        )


def translate_shortcodes(
    body: str, source: str, body_line: int, unknown: UnknownPolicy = "fail"
) -> ShortcodeResult:
    """``body`` with every shortcode translated (see the module docstring).

    ``body_line`` is the file line the body starts on. A translation keeps the number of
    lines it replaces (padded with newlines), so later errors still point at the right line.
    Work is linear in the body: an opener that does not start a complete shortcode within
    :data:`MAX_SHORTCODE_CHARS` is an error (Hugo refuses it too), never a rescan.

    Raises:
        ContentError: an unknown shortcode (under ``unknown="fail"``), an opener that starts
            no complete shortcode, a closing tag without its opening or an opening without
            its closing, bad or missing parameters; ``where`` is ``FILE:LINE`` and the
            message names the shortcode.
    """
    if "{{<" not in body and "{{%" not in body:
        return ShortcodeResult(body, ())
    body = body.replace("\x00", "\ufffd")
    masked = _mask_code(body) if "`" in body or "~~~" in body else body
    run = _Pass(body, masked, source, unknown, _Lines(body, body_line), [], [])
    out: list[str] = []
    pos = scan = 0
    while (opener := _OPENER.search(masked, scan)) is not None:
        start = opener.start()
        escaped = _ESCAPED.match(masked, start)
        if escaped is not None:  # printed literally by _unescape below
            scan = escaped.end()
            continue
        line = run.lines.at(start)
        where = f"{source}:{line}"
        match = _SHORTCODE.match(masked, start)
        if match is None:
            raise ContentError(
                f"{quoted(masked[start : start + 40])} starts no complete Hugo shortcode",
                where=where,
                hint="a shortcode is {{< name params >}} on at most "
                f"{MAX_SHORTCODE_CHARS} characters; to show the braces, write {{{{</* … */>}}}}",
            )
        name = match.group("name")
        if match.group("close") and unknown == "warn" and name not in _KNOWN:
            scan = match.end()  # the end of a paired shortcode kept as written (warned)
            continue
        if match.group("close"):
            raise ContentError(
                f"closing shortcode {quoted(name)} without an opening one", where=where
            )
        # From the text, not the mask: a backquoted (raw) value looks like a code span.
        args = body[match.start("args") : match.end() - 3].rstrip()
        named, positional = _parse_params(args, name, where)
        text, end = run.translate(match, _Call(name, named, positional, where), line)
        if text is not None:
            lost = body.count("\n", start, end) - text.count("\n")
            out.append(_unescape(body[pos:start]))
            out.append(text + "\n" * max(lost, 0))
            pos = end
        scan = end
    out.append(_unescape(body[pos:]))
    return ShortcodeResult("".join(out), tuple(run.warnings), tuple(run.refs))
