"""One tag page per entity across the archive: the names by which stories met an entity, and the
slug and display name its tag keeps.

Within a story the tagger already makes one tag of "Zelensky", "President Zelensky" and
"Volodymyr Zelensky", and the gazetteers make "Kiev" Kyiv and "BoE" the Bank of England. Across
stories, spellings still differ ("Volodymyr Zelenskyy", "Zelenskiy"), one story names a person by
surname alone and a later one in full, and a body met as "KRA" in one story is the Kenya
Revenue Authority of another. The archive keeps a name book (`ports.TagNames`): each entity's
lookup keys -> the slug its tag was first given and the best name seen for it. So:

* a tag's slug never changes once given: a better display name ("Volodymyr Zelensky" after
  "Zelensky") updates the name the slug shows, not the slug (nor the page's address);
* people are looked up by first name and surname, spelled loosely (transliteration variants:
  doubled letters, "-iy"/"-yy"/"-ii" endings; accents folded); a surname alone joins the one
  person of that surname the archive knows, and only when there is exactly one;
* an acronym joins the one long form the archive knows with those initials, and only then;
* places are the gazetteer's already; their slugs are kept stable the same way.

`canonical_tags` is pure: it reads what the book knows and says what to write to it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from services.enrich.tagging.data import key
from services.enrich.tagging.lexicon import NAME_PARTICLES, NAME_SUFFIXES
from services.enrich.tagging.organisations import initials
from shared.models import Tag

ENTITY_TYPES = frozenset({"person", "organisation", "place"})


@dataclass(frozen=True)
class Entry:
    """What the name book holds for one key: the slug it leads to, and whether it was written by
    a one-word name (a surname or an acronym alone). A key two entities share leads nowhere
    (``slug`` None): "Smith" alone is nobody in particular."""

    slug: str | None
    single: bool = False


_DOUBLED = re.compile(r"(.)\1+")
_ENDING = re.compile(r"(?:iy|yy|ii|ij|yi|i)$")


def loose(word: str) -> str:
    """A name word spelled loosely: "Zelenskyy", "Zelenskiy" and "Zelensky" are one; "Dmitri"
    and "Dmitry" too."""
    text = _DOUBLED.sub(r"\1", key(word).replace("-", ""))
    return _ENDING.sub("y", text) if len(text) > 3 else text


def _person_words(name: str) -> list[str]:
    return [w for w in name.split() if w.lower() not in NAME_SUFFIXES]


def _is_acronym(name: str) -> bool:
    letters = name.replace(".", "").replace("&", "")
    return len(name.split()) == 1 and letters.isupper() and 2 <= len(letters) <= 8


def lookup_keys(tag: Tag) -> list[str]:
    """The keys ``tag`` is looked up by, surest first."""
    if tag.type == "person":
        words = _person_words(tag.name)
        if not words:
            return []
        surname = "ps:" + loose(words[-1])
        if len(words) == 1:
            return [surname]
        given = [w for w in words[:-1] if w.lower() not in NAME_PARTICLES]
        full = "p:" + loose(given[0] if given else words[0]) + " " + loose(words[-1])
        return [full, surname]
    if tag.type == "organisation":
        if _is_acronym(tag.name):
            return ["o:" + key(tag.name), "oi:" + tag.name.replace(".", "").replace("&", "")]
        return ["o:" + key(tag.name)]
    if tag.type == "place":
        return ["l:" + key(tag.name)]
    return []


def _better(new: str, old: str, tag_type: str) -> bool:
    """Whether ``new`` names the entity better than ``old``: a person's fuller name, an
    organisation's long form over its acronym."""
    if tag_type == "person":
        return len(_person_words(new)) > len(_person_words(old))
    if tag_type == "organisation":
        return _is_acronym(old) and not _is_acronym(new)
    return False


@dataclass(frozen=True)
class Naming:
    """The story's tags under their archive slugs and names, and what the name book should
    learn: keys it lacks (written only where no other replica wrote first), keys whose entry
    changes (a surname now owned by a full name; a key two entities want), and better names
    for slugs."""

    tags: list[Tag]
    new_keys: dict[str, Entry]
    changed_keys: dict[str, Entry]
    names: dict[str, str]  # slug -> the name its tag now shows

    @property
    def learns(self) -> bool:
        return bool(self.new_keys or self.changed_keys or self.names)


#: A decision on what the book knows: `canonical_tags` with the story's tags bound.
DecideNames = Callable[[Mapping[str, Entry], Mapping[str, str]], Naming]


def register_keys(tag: Tag) -> list[str]:
    """The keys a tag is written under: its lookup keys, and a long form's initials ("oi:KRA"
    for "Kenya Revenue Authority"), so that an acronym alone in a later story can join it."""
    keys = lookup_keys(tag)
    if tag.type == "organisation" and not _is_acronym(tag.name):
        letters = initials(tag.name)
        if len(letters) >= 2:
            keys.append("oi:" + letters)
    return keys


def _found(tag: Tag, keys: list[str], known: Mapping[str, Entry]) -> Entry | None:
    """The entry ``tag`` joins, if any: a name's own key; else, for a full name, a person known
    by surname alone, and for a surname or an acronym alone, the one entity it can be."""
    first = known.get(keys[0])
    if first is not None:
        return first if first.slug else None
    if len(keys) < 2:
        return None
    fallback = known.get(keys[1])
    if fallback is None or fallback.slug is None:
        return None
    if tag.type == "person" and len(_person_words(tag.name)) > 1 and not fallback.single:
        return None  # "Jane Smith" is not the "John Smith" the surname key also leads to
    return fallback


def canonical_tags(
    tags: Sequence[Tag], known: Mapping[str, Entry], names: Mapping[str, str]
) -> Naming:
    """``tags`` with each entity under the slug and name the archive knows it by (``known``:
    the book's entries for every key of `register_keys`; ``names``: the names of their slugs),
    and what to write to the book."""
    out: list[Tag] = []
    new_keys: dict[str, Entry] = {}
    changed: dict[str, Entry] = {}
    new_names: dict[str, str] = {}
    seen: set[str] = set()
    for tag in tags:
        keys = register_keys(tag) if tag.type in ENTITY_TYPES else []
        if not keys:
            out.append(tag)
            continue
        entry = _found(tag, keys, known)
        slug = entry.slug if entry is not None and entry.slug else tag.slug
        shown = new_names.get(slug) or names.get(slug)
        if shown is None or _better(tag.name, shown, tag.type):
            shown = new_names[slug] = tag.name
        single = len(tag.name.split()) == 1
        for k in keys:
            current = known.get(k)
            if current is None:
                new_keys.setdefault(k, Entry(slug, single))
            elif current.slug is not None and current.slug != slug:
                changed[k] = Entry(None, current.single and single)  # two entities want it
            elif current.slug == slug and current.single and not single:
                changed[k] = Entry(slug, False)  # "Zelensky" now known in full
        if slug in seen:
            continue  # two names of the story met one entity of the archive
        seen.add(slug)
        out.append(tag.model_copy(update={"slug": slug, "name": shown}))
    return Naming(out, new_keys, changed, new_names)
