"""Every URL a stylesheet makes the browser fetch, found the way a CSS tokenizer finds it.

Invariant kept: :func:`css_references` returns, in order, every URL that a browser following
CSS Syntax Level 3 (§4, "Tokenization") would fetch from ``css``: ``url(…)`` tokens and
``url("…")``/``src("…")`` functions, ``@import "…"``, and the strings inside ``image-set()``
(and its ``-webkit-`` alias), ``image()`` and ``cross-fade()``, where a bare string is an
image URL. Escapes are decoded as the tokenizer decodes them (``\\75 rl(`` is ``url(``,
``u\\rl(`` too, ``\\68ttps:`` is ``https:``) and comments are skipped, so no spelling a
browser accepts hides a URL. Strings elsewhere (``content: "…"``, attribute selectors) are
text, not loads, and are not reported.

A regular expression cannot do this: escapes may sit inside the function name itself.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CssReference", "css_references"]

# Functions whose bare string arguments are URLs (CSS Images 4 §2.2, §2.4, §2.6).
_IMAGE_FUNCTIONS = frozenset({"image-set", "-webkit-image-set", "image", "cross-fade"})
_URL_FUNCTIONS = frozenset({"url", "src"})
_WHITESPACE = " \t\n\r\f"
_HEX = "0123456789abcdefABCDEF"


@dataclass(frozen=True, slots=True)
class CssReference:
    """One fetched URL: its decoded text and the 1-based line where its token starts."""

    url: str
    line: int


def _is_name_char(char: str) -> bool:
    return char.isalnum() or char in "-_" or ord(char) >= 0x80


def _starts_escape(css: str, pos: int) -> bool:
    return css.startswith("\\", pos) and pos + 1 < len(css) and css[pos + 1] != "\n"


class _Tokenizer:
    """Just enough of CSS Syntax §4 to tell names, strings, URLs and functions apart."""

    def __init__(self, css: str) -> None:
        # §3.3 preprocessing: CR, FF and CRLF become LF; NUL becomes U+FFFD.
        self.css = css.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n")
        self.css = self.css.replace("\0", "\ufffd")
        self.pos = 0
        self.found: list[CssReference] = []
        self.functions: list[str] = []  # open functions, innermost last ("" for a bracket)
        self.after_import = False  # the last token was "@import" (then only whitespace)

    def escape(self) -> str:
        """Consume an escape (§4.3.7); ``pos`` is just after the backslash."""
        css, pos = self.css, self.pos
        if pos >= len(css):
            return "\ufffd"
        if css[pos] in _HEX:
            end = pos
            while end < len(css) and end - pos < 6 and css[end] in _HEX:
                end += 1
            value = int(css[pos:end], 16)
            if end < len(css) and css[end] in _WHITESPACE:
                end += 1
            self.pos = end
            if value == 0 or 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
                return "\ufffd"
            return chr(value)
        self.pos = pos + 1
        return css[pos]

    def name(self) -> str:
        """Consume a name (§4.3.12), decoding escapes."""
        out: list[str] = []
        css = self.css
        while self.pos < len(css):
            char = css[self.pos]
            if _is_name_char(char):
                out.append(char)
                self.pos += 1
            elif _starts_escape(css, self.pos):
                self.pos += 1
                out.append(self.escape())
            else:
                break
        return "".join(out)

    def string(self, quote: str) -> str:
        """Consume a string (§4.3.5); ``pos`` is just after the opening quote."""
        out: list[str] = []
        css = self.css
        while self.pos < len(css):
            char = css[self.pos]
            self.pos += 1
            if char == quote:
                break
            if char == "\n":
                self.pos -= 1  # a bad string: ends at the newline
                break
            if char == "\\":
                if self.pos < len(css) and css[self.pos] == "\n":
                    self.pos += 1  # an escaped newline continues the string
                else:
                    out.append(self.escape())
            else:
                out.append(char)
        return "".join(out)

    def skip_whitespace(self) -> None:
        while self.pos < len(self.css) and self.css[self.pos] in _WHITESPACE:
            self.pos += 1

    def url_token(self) -> str:
        """Consume an unquoted url token (§4.3.6); ``pos`` is after ``url(`` and whitespace."""
        out: list[str] = []
        css = self.css
        while self.pos < len(css):
            char = css[self.pos]
            self.pos += 1
            if char == ")":
                break
            if char == "\\":
                out.append(self.escape())
            else:
                out.append(char)
        return "".join(out).rstrip(_WHITESPACE)

    def ident_like(self, start: int) -> None:
        """A name, a function or a url token (§4.3.4)."""
        name = self.name().lower()
        if not self.css.startswith("(", self.pos):
            return
        self.pos += 1
        if name == "url":
            self.skip_whitespace()
            if not self.css.startswith(("'", '"'), self.pos):
                self.add(self.url_token(), start)
                return
        self.functions.append(name)

    def run(self) -> list[CssReference]:
        css = self.css
        while self.pos < len(css):
            start = self.pos
            char = css[start]
            if css.startswith("/*", start):
                end = css.find("*/", start + 2)
                self.pos = len(css) if end < 0 else end + 2
                continue
            if char in _WHITESPACE:
                self.skip_whitespace()
                continue
            importing, self.after_import = self.after_import, False
            if char in "'\"":
                self.pos += 1
                value = self.string(char)
                function = self.functions[-1] if self.functions else None
                if importing or function in _URL_FUNCTIONS or function in _IMAGE_FUNCTIONS:
                    self.add(value, start)
            elif char == "@":
                self.pos += 1
                self.after_import = self.name().lower() == "import"
            elif _is_name_char(char) or _starts_escape(css, start):
                if char.isdigit():
                    self.pos += 1  # a number (its unit is a name that follows)
                    continue
                self.ident_like(start)
            elif char == "(" or char == "[":
                self.functions.append("")
                self.pos += 1
            elif char == ")" or char == "]":
                if self.functions:
                    self.functions.pop()
                self.pos += 1
            elif char == "\\":
                self.pos += 2  # an escaped newline: a delimiter, nothing more
            else:
                self.pos += 1
        return self.found

    def add(self, url: str, start: int) -> None:
        self.found.append(CssReference(url, self.css.count("\n", 0, start) + 1))


def css_references(css: str) -> list[CssReference]:
    """Every URL ``css`` makes a browser fetch, decoded, in source order (see module doc).

    Lines count CR, LF and CRLF as one line break each, as the CSS preprocessor does.
    """
    return _Tokenizer(css).run()
