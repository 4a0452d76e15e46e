"""The site's sections: their names, their order, and the Media Topics that lead to each, from a
config file ops can change (`shared/data/sections.toml`, or the file SECTIONS_FILE names).

Enrich puts each story in a section by it; render lists them in this order. Both read the same
file, so they agree.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from shared.models import Section

DEFAULT_SECTIONS_FILE = Path(__file__).with_name("data") / "sections.toml"
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_CODE = re.compile(r"^\d{8}$")


@dataclass(frozen=True)
class SectionRule:
    section: Section
    topics: tuple[str, ...]  # Media Topic codes, without the "medtop:" prefix


@dataclass(frozen=True)
class Sections:
    rules: tuple[SectionRule, ...]
    default: Section

    @property
    def in_order(self) -> tuple[Section, ...]:
        return tuple(rule.section for rule in self.rules)


def load_sections(path: Path | None = None) -> Sections:
    """The sections in a config file; ValueError, saying what is wrong, if it is not sound."""
    path = path or DEFAULT_SECTIONS_FILE
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    rules: list[SectionRule] = []
    for raw in data.get("section", []):
        slug, name = str(raw.get("slug", "")), str(raw.get("name", "")).strip()
        if not _SLUG.match(slug) or not name:
            raise ValueError(f"{path}: a section needs a slug (a-z, 0-9, -) and a name: {raw}")
        topics = tuple(str(code) for code in raw.get("topics", []))
        if not all(_CODE.match(code) for code in topics):
            raise ValueError(f"{path}: section {slug}: topics are 8-digit Media Topic codes")
        rules.append(SectionRule(Section(slug=slug, name=name), topics))
    slugs = [rule.section.slug for rule in rules]
    if not rules or len(set(slugs)) != len(slugs):
        raise ValueError(f"{path}: sections must be listed, each slug once")
    default = str(data.get("default", slugs[0]))
    if default not in slugs:
        raise ValueError(f"{path}: default section {default!r} is not listed")
    return Sections(tuple(rules), rules[slugs.index(default)].section)
