"""Reader for Markdown with an optional YAML front matter header.

``---`` / YAML header / ``---`` / Markdown body, as static site generators
write it.  Without a ``title`` in the header the first ``# Heading`` is used.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import yaml

from search.ingest.article import Article, ReadError
from search.ingest.encoding import require_content
from search.ingest.fields import build_article, split_fields, split_paragraphs, type_name

if TYPE_CHECKING:
    from search.ingest import SourceFile

_OPENER = "---"
_CLOSERS = ("---", "...")
_HEADING = re.compile(r"(#{1,6})\s+(.+?)(?:\s+#+)?")


class _NoAliasLoader(yaml.SafeLoader):
    """SafeLoader without ``*alias`` (a few lines of aliases expand to gigabytes of extras) and
    without duplicate keys (YAML forbids them; PyYAML silently keeps the last)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed", mark)
        return super().compose_node(parent, index)

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        mapping = super().construct_mapping(node, deep)
        if len(mapping) != len(node.value):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.value in seen:
                    shown = str(key_node.value)[:40]
                    raise yaml.constructor.ConstructorError(None, None, f"duplicate key {shown!r}",
                                                            key_node.start_mark)
                seen.add(key_node.value)
        return mapping


def parse_markdown(text: str, *, source: SourceFile) -> Article:
    """Parse a Markdown article, taking fields from its front matter header if any."""
    header, body = _split_front_matter(require_content(text))
    known, extra = split_fields(header)
    heading, paragraphs = _markdown_body(body, want_title=not known.get("title"))
    if heading:
        known["title"] = heading
    if paragraphs:
        known["body"] = "\n\n".join(paragraphs)
    return build_article(known, extra, source=source, line=None, index=None)


def _split_front_matter(text: str) -> tuple[dict[Any, Any], str]:
    """(header mapping, body); a text without an opening ``---`` is all body."""
    lines = text.split("\n")
    start = next(number for number, line in enumerate(lines) if line.strip())
    if lines[start].rstrip() != _OPENER:
        return {}, text
    for end in range(start + 1, len(lines)):
        if lines[end].rstrip() in _CLOSERS:
            header = _load_header("\n".join(lines[start + 1:end]), first_line=start + 2)
            return header, "\n".join(lines[end + 1:])
    raise ReadError(f"front matter opened on line {start + 1} is never closed with '---'")


def _load_header(yaml_text: str, *, first_line: int) -> dict[Any, Any]:
    """YAML header -> mapping; ``first_line`` makes error lines count in the whole file."""
    try:
        header = yaml.load(yaml_text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" (line {mark.line + first_line})" if mark else ""
        raise ReadError(f"invalid YAML front matter: {exc.problem or exc.context}{where}") from None
    except (yaml.YAMLError, ValueError, OverflowError) as exc:  # ValueError: impossible dates like 2024-02-30
        raise ReadError(f"invalid YAML front matter: {exc}") from None
    if header is None:
        return {}
    if not isinstance(header, dict):
        raise ReadError(f"front matter must be a mapping of fields, got {type_name(header)}")
    return header


def _markdown_body(body: str, *, want_title: bool) -> tuple[str, list[str]]:
    """(title from the first '# ' heading if wanted, paragraphs); headings stand alone."""
    title = ""
    lines: list[str] = []
    for line in body.split("\n"):
        match = _HEADING.fullmatch(line.strip())
        if match is None:
            lines.append(line)
        elif want_title and not title and len(match[1]) == 1:
            title = match[2]
        else:
            lines.extend(["", match[2], ""])
    return title, split_paragraphs("\n".join(lines))
