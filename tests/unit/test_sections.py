"""The site's sections: the config file ops may change, and how a story finds its section."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.enrich.sections import section_for
from shared.models import Tag
from shared.sections import load_sections

pytestmark = pytest.mark.unit


def topic(code: str, confidence: float = 0.95) -> Tag:
    return Tag(type="topic", name=code, slug=f"topic-{code}", code=f"medtop:{code}",
               confidence=confidence)  # fmt: skip


def test_the_default_sections_are_a_general_news_site() -> None:
    sections = load_sections()
    assert [s.name for s in sections.in_order] == [
        "World", "Politics", "Business", "Technology", "Science", "Climate & Environment",
        "Health", "Sport", "Culture",
    ]  # fmt: skip
    assert sections.default.slug == "world"


def test_the_most_specific_listed_topic_decides() -> None:
    sections = load_sections()
    # IT/computer sciences falls under technology and engineering (Technology), itself under
    # science and technology (Science): the narrower listed code wins.
    assert section_for([topic("20000763")], sections).slug == "technology"
    assert section_for([topic("20000717")], sections).slug == "science"  # natural science
    assert section_for([topic("15000000"), topic("20001065")], sections).slug == "sport"
    # Votes add up, and a broad topic implied by a narrower one does not vote twice.
    mixed = [topic("11000000", 0.9), topic("20000593"), topic("20000615"), topic("04000000", 0.97)]
    assert section_for(mixed, sections).slug == "politics"
    assert section_for([], sections).slug == "world"
    assert section_for([topic("99999999")], sections).slug == "world"


def test_a_section_file_ops_write_is_checked(tmp_path: Path) -> None:
    good = tmp_path / "sections.toml"
    good.write_text(
        'default = "news"\n[[section]]\nslug = "news"\nname = "News"\ntopics = []\n'
        '[[section]]\nslug = "sport"\nname = "Sport"\ntopics = ["15000000"]\n'
    )
    sections = load_sections(good)
    assert [s.slug for s in sections.in_order] == ["news", "sport"]
    assert section_for([topic("20001065")], sections).slug == "sport"
    for broken in (
        'default = "elsewhere"\n[[section]]\nslug = "news"\nname = "News"\n',
        '[[section]]\nslug = "Not A Slug"\nname = "x"\n',
        '[[section]]\nslug = "a"\nname = "A"\n[[section]]\nslug = "a"\nname = "B"\n',
        '[[section]]\nslug = "a"\nname = "A"\ntopics = ["politics"]\n',
        "",
    ):
        good.write_text(broken)
        with pytest.raises(ValueError):
            load_sections(good)
