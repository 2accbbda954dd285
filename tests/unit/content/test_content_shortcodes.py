"""Hugo shortcodes: translated natively, printed literally when escaped, or named in an error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.content_site import article, make_site
from tamizdat.content import load_site
from tamizdat.content.shortcodes import page_ref_token, translate_shortcodes
from tamizdat.errors import ContentError, PrivacyError
from tamizdat.render.markdown import render_body

SRC = "content/posts/a.md"


def translate(body: str, **kwargs: object) -> str:
    result = translate_shortcodes(body, SRC, 5, **kwargs)  # type: ignore[arg-type]
    return result.body


def error_of(body: str) -> ContentError:
    with pytest.raises(ContentError) as info:
        translate_shortcodes(body, SRC, 5)
    return info.value


@pytest.mark.parametrize(
    "code",
    [
        '{{< figure src="/images/a.jpg" alt="A b" caption="Cap two" >}}',
        '{{<figure src="/images/a.jpg" alt="A b" caption="Cap two">}}',
        '{{% figure src="/images/a.jpg" alt="A b" caption="Cap two" %}}',
        '{{< figure src=/images/a.jpg alt="A b" caption=`Cap two` >}}',
        '{{< figure\n  src="/images/a.jpg"\n  alt="A b"\n  caption="Cap two"\n>}}',
        '{{< figure src="/images/a.jpg" alt="A b" caption="Cap two" class="wide" width="600" >}}',
    ],
)
def test_figure_forms_become_a_figure(code: str) -> None:
    body = translate(f"Before.\n\n{code}\n\nAfter.")
    assert (
        '<figure><img src="/images/a.jpg" alt="A b"><figcaption>Cap two</figcaption></figure>'
        in body
    )
    assert "{{" not in body
    # The line count is kept, so later errors point at the right line.
    assert body.count("\n") == f"Before.\n\n{code}\n\nAfter.".count("\n")


def test_figure_escapes_values_and_keeps_title_link_attribution() -> None:
    body = translate(
        '{{< figure src="a b.jpg" alt="x\\"><script>" title="T" caption="<b>c</b>" '
        'link="https://example.org/full" attr="Photo: Ann" attrlink="https://example.org/ann" >}}'
    )
    assert (
        '<a href="https://example.org/full"><img src="a b.jpg" alt="x&quot;&gt;&lt;script&gt;">'
        in body
    )
    assert "<strong>T</strong> &lt;b&gt;c&lt;/b&gt; " in body
    assert '<a href="https://example.org/ann">Photo: Ann</a>' in body


def test_figure_without_src_or_with_unknown_parameter_is_named() -> None:
    assert "no src" in error_of('{{< figure alt="x" >}}').message
    error = error_of('Text\n{{< figure src="a.jpg" captoin="x" >}}')
    assert error.where == f"{SRC}:6"
    assert "captoin" in error.message


@pytest.mark.parametrize(
    ("code", "url"),
    [
        ("{{< youtube dQw4w9WgXcQ >}}", "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ('{{< youtube id="dQw4w9WgXcQ" autoplay="true" >}}', "https://www.youtube.com/watch?v=dQw4w9WgXcQ"),
        ("{{< vimeo 146022717 >}}", "https://vimeo.com/146022717"),
        ('{{< tweet user="SanDiegoZoo" id="1453110110599868418" >}}', "https://x.com/SanDiegoZoo/status/1453110110599868418"),
        ("{{< tweet 1453110110599868418 >}}", "https://x.com/i/status/1453110110599868418"),
        ('{{< x user="SanDiegoZoo" id="1453110110599868418" >}}', "https://x.com/SanDiegoZoo/status/1453110110599868418"),
        ("{{< instagram BWNjjyYFxVx >}}", "https://www.instagram.com/p/BWNjjyYFxVx/"),
        ("{{< gist spf13 7896402 >}}", "https://gist.github.com/spf13/7896402"),
        ('{{< gist spf13 7896402 "img.html" >}}', "https://gist.github.com/spf13/7896402"),
    ],
)  # fmt: skip
def test_embeds_become_links_with_a_warning(code: str, url: str) -> None:
    result = translate_shortcodes(f"Watch:\n\n{code}\n", SRC, 5)
    assert f"<{url}>" in result.body
    assert "{{" not in result.body
    (warning,) = result.warnings
    assert warning.startswith(f"{SRC}:7: ")
    assert url in warning
    assert "third party" in warning


@pytest.mark.parametrize("bad", ['"a/../b"', '"x y"', '"a?b=c"', '"<script>"', '""'])
def test_embed_ids_are_checked(bad: str) -> None:
    error = error_of(f"{{{{< youtube {bad} >}}}}")
    assert "youtube" in error.message
    assert error.where == f"{SRC}:5"


def test_highlight_becomes_a_fenced_block_and_keeps_its_content() -> None:
    body = translate(
        'Code:\n{{< highlight go "linenos=table" >}}\nfunc main() { s := "```" }\n'
        "{{< youtube x >}}\n{{< /highlight >}}\nAfter."
    )
    assert body == ('Code:\n````go\nfunc main() { s := "```" }\n{{< youtube x >}}\n````\nAfter.')


def test_unclosed_or_unopened_pairs_are_named() -> None:
    assert "not closed" in error_of("{{< highlight go >}}\nx\n").message
    error = error_of("a\n\n{{< /highlight >}}")
    assert "without an opening" in error.message
    assert error.where == f"{SRC}:7"


@pytest.mark.parametrize(
    "body",
    [
        '{{</* figure src="x.jpg" */>}}',
        '`{{</* figure src="x.jpg" */>}}`',
        '```\n{{</* figure src="x.jpg" */>}}\n```',
        '{{%/* figure src="x.jpg" */%}}',
    ],
)
def test_escaped_shortcodes_print_literally(body: str) -> None:
    out = translate(body)
    assert "/*" not in out
    assert "*/" not in out
    assert 'figure src="x.jpg"' in out
    assert "{{<" in out or "{{%" in out
    assert "<figure>" not in out


@pytest.mark.parametrize(
    "body",
    [
        "Use `{{< youtube ID >}}` to embed.",
        "```\n{{< custom a=1 >}}\n```",
        "~~~md\n{{% notice %}}x{{% /notice %}}\n~~~",
        "    indented text is not a fence, but\n``{{< figure src=x >}}``",
    ],
)
def test_shortcodes_inside_code_are_left_alone(body: str) -> None:
    assert translate(body) == body


@pytest.mark.parametrize(
    ("body", "name", "line"),
    [
        ("{{< notice warning >}}\nCareful\n{{< /notice >}}", "notice", 5),
        ("Text.\n\n{{% mycustom %}}", "mycustom", 7),
        ('{{< partials/box title="a b" >}}', "partials/box", 5),
        ("{{< param description >}}", "param", 5),
        ("ok {{< youtube abc >}} then {{< speakerdeck 123 >}}", "speakerdeck", 5),
    ],
)
def test_unknown_shortcodes_fail_naming_file_line_and_name(body: str, name: str, line: int) -> None:
    error = error_of(body)
    assert error.where == f"{SRC}:{line}"
    assert repr(name) in error.message
    assert error.hint
    assert "unknown_shortcodes" in error.hint


def test_unknown_shortcodes_warn_when_asked_and_stay_visible() -> None:
    result = translate_shortcodes("a\n{{< notice >}}\n", SRC, 5, "warn")
    assert result.body == "a\n{{< notice >}}\n"
    (warning,) = result.warnings
    assert warning.startswith(f"{SRC}:6: ")
    assert "'notice'" in warning


def test_paired_unknown_shortcodes_warn_once_and_translate_inside() -> None:
    body = "{{% notice %}}\n{{< youtube abc >}}\n{{% /notice %}}\n"
    result = translate_shortcodes(body, SRC, 5, "warn")
    assert result.body == "{{% notice %}}\n<https://www.youtube.com/watch?v=abc>\n{{% /notice %}}\n"
    assert len(result.warnings) == 2
    assert "closing" in error_of("{{< /highlight >}}").message
    with pytest.raises(ContentError, match="without an opening"):
        translate_shortcodes("{{< /highlight >}}", SRC, 5, "warn")


def test_mixed_parameters_are_refused() -> None:
    assert "mixes" in error_of('{{< figure "a.jpg" alt="x" >}}').message


def test_page_refs_leave_numbered_placeholders() -> None:
    result = translate_shortcodes(
        'See [a]({{< ref "b.md" >}}) and [c]({{< relref path="/posts/c#part" >}}).\x00', SRC, 5
    )
    assert result.page_refs == (("b.md", 5), ("/posts/c#part", 5))
    assert page_ref_token(0) in result.body
    assert page_ref_token(1) in result.body
    # A NUL the author wrote cannot pose as a placeholder.
    assert result.body.count("\x00") == 4


@given(st.text())
def test_text_without_shortcode_openers_is_unchanged(text: str) -> None:
    text = text.replace("{{<", "").replace("{{%", "")
    if "{{<" in text or "{{%" in text:  # the removal itself can make an opener
        return
    assert translate(text) == text


@given(st.text(alphabet=st.sampled_from("{}<>%/*`\"'= \nabc-")))
def test_shortcode_syntax_soup_translates_or_raises_content_error(text: str) -> None:
    failure: ContentError | None = None
    try:
        result = translate_shortcodes(text, SRC, 1, "warn")
    except ContentError as exc:
        failure = exc
    if failure is not None:
        assert (failure.where or "").startswith(f"{SRC}:")
    else:
        assert result.body.count("\n") >= text.count("\n") - text.count("{{")


# Through load_site: the figure image and page references are resolved against the files.

JPEG = b"\xff\xd8\xff\xe0fake-jpeg"


def test_figure_image_goes_through_the_body_image_path(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {
            "content/posts/a.md": article(body='{{< figure src="/images/p.jpg" caption="C" >}}'),
            "static/images/p.jpg": JPEG,
        },
        toml=BASE_WITH_STATIC,
    )
    (loaded,) = load_site(config).articles
    assert loaded.body_images == (("/images/p.jpg", "static/images/p.jpg"),)


def test_missing_figure_image_is_named_with_its_line(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {"content/posts/a.md": article(body='x\n{{< figure src="/images/nope.jpg" >}}')},
        toml=BASE_WITH_STATIC,
    )
    with pytest.raises(ContentError) as info:
        load_site(config)
    assert info.value.where == "content/posts/a.md:6"
    assert "nope.jpg" in info.value.message


BASE_WITH_STATIC = """\
[site]
title = "Test Desk"
default_language = "en"

[languages.en]
title = "Test Desk"

[languages.ru]
title = "Тестовая редакция"

[build]
static_dirs = ["static"]
"""


@pytest.mark.parametrize(
    "target",
    ["b.md", "b", "/posts/b.md", "posts/b", "/posts/b/", "b.md#part"],
)
def test_page_refs_resolve_to_the_relative_url(tmp_path: Path, target: str) -> None:
    config = make_site(
        tmp_path,
        {
            "content/posts/a.md": article("A", body=f'[b]({{{{< ref "{target}" >}}}})'),
            "content/posts/b.md": article("B", date="2024-02-01"),
        },
    )
    by_title = {a.title: a for a in load_site(config).articles}
    link = "../../../../../en/news/2024/02/b/index.html"
    fragment = "#part" if "#" in target else ""
    assert by_title["A"].body == f"[b]({link}{fragment})\n"


def test_page_refs_prefer_the_translation_and_bundles(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {
            "content/posts/a.ru.md": article("А", body='[b]({{< relref "b" >}})'),
            "content/posts/b/index.md": article("B", date="2024-02-01"),
            "content/posts/b/index.ru.md": article("Б", date="2024-02-01"),
        },
    )
    by_title = {a.title: a for a in load_site(config).articles}
    assert "ru/news/2024/02/b/index.html" in by_title["А"].body


@pytest.mark.parametrize("target", ["nope.md", "/other/b.md", "b.md"])
def test_page_refs_to_missing_or_draft_articles_fail_with_file_line(
    tmp_path: Path, target: str
) -> None:
    config = make_site(
        tmp_path,
        {
            "content/posts/a.md": article("A", body=f'Text.\n[b]({{{{< ref "{target}" >}}}})'),
            "content/posts/b.md": article("B", extra="draft: true\n"),
        },
    )
    with pytest.raises(ContentError) as info:
        load_site(config)
    assert info.value.where == "content/posts/a.md:6"
    assert repr(target) in info.value.message


@pytest.mark.parametrize(
    ("mode", "fails"),
    [("", True), ('unknown_shortcodes = "fail"\n', True), ('unknown_shortcodes = "warn"\n', False)],
)
def test_build_setting_chooses_fail_or_warn(tmp_path: Path, mode: str, fails: bool) -> None:
    config = make_site(
        tmp_path,
        {"content/posts/a.md": article(body="{{< notice >}}")},
        toml=BASE_WITH_STATIC + mode,
    )
    if fails:
        with pytest.raises(ContentError, match="'notice'"):
            load_site(config)
        return
    site = load_site(config)
    assert any("content/posts/a.md:5" in w and "'notice'" in w for w in site.warnings)
    assert site.articles[0].body == "{{< notice >}}\n"


@pytest.mark.parametrize(
    "body",
    [
        "Go templates use {{< like this",
        "{{% a b",
        "{{< >}}",
        "{{</* never closed",
        "{{<!-- x -->}}",
    ],
)
def test_an_opener_without_a_complete_shortcode_is_named(body: str) -> None:
    error = error_of("Line one.\n" + body)
    assert error.where == f"{SRC}:6"
    assert "starts no complete Hugo shortcode" in error.message


@pytest.mark.parametrize(
    "unit",
    [
        "{{</* ",  # unclosed escapes (printed by the escape pass)
        '{{< youtube "',  # an unclosed quote
        "```\n{{</* x\n",  # escapes inside code
        "{{< youtube abc >}}\n",  # many complete ones: lines counted forward, not from 0
        '[a]({{< ref "b.md" >}})\n',
    ],
)
def test_hostile_bodies_end_with_a_result_or_a_content_error(unit: str) -> None:
    # How the time grows with the size is measured in bench/bench_shortcodes.py (no timed
    # assertions in tests); here: a 400 KB hostile body ends, translated or refused.
    body = unit * (400_000 // len(unit))
    where: str | None = None
    try:
        out = translate_shortcodes(body, SRC, 1, "warn")
    except ContentError as error:
        where = error.where
    else:
        # every translation keeps the lines it replaces, so later errors point right
        assert out.body.count("\n") >= body.count("\n")
    assert where is None or where.startswith(f"{SRC}:")


def test_figure_with_an_external_picture_is_a_privacy_error_with_its_line(tmp_path: Path) -> None:
    config = make_site(
        tmp_path,
        {
            "content/posts/a.md": article(
                body='Text.\n\n{{< figure src="https://cdn.example/x.jpg" >}}'
            )
        },
    )
    (loaded,) = load_site(config).articles
    with pytest.raises(PrivacyError, match=r"cdn\.example") as info:
        render_body(loaded, {}, "")
    assert info.value.where == "content/posts/a.md:7"
