"""Tags that say who, where and what a story is about: a pure, rule-based tagger.

Why rules and gazetteers rather than a statistical NER model: the tagger must install from PyPI,
run offline on a CPU and cost about a millisecond a story. The spaCy pipelines are not on PyPI
(only unofficial re-uploads are), GLiNER and Flair download their weights from a hub at run time,
and spaCy v3's small English pipeline, measured on the same labelled stories, gets 641 of its 2,112
tags wrong against our 46 of 893, at 16-34 ms a story (`bench/tagging_spacy3.py`). So:

* places (`places`): a gazetteer shipped as data (``data/places.json``: countries, US states,
  large cities and capitals from GeoNames; curated first-level divisions such as oblasts,
  provinces and states, seas, gulfs and rivers; aliases such as "U.S." or "Kiev", historical
  states and demonyms such as "Ukrainian", which count at a lower confidence; AP state
  abbreviations, in datelines only). A city or state also implies its country, at a lower
  confidence. A place named once, after the lead and not in the headline or dateline, is a
  passing mention and no tag.
* people (`people`): capitalised names with a cue somewhere in the story: a title or honorific
  before them ("President", "Finance Minister", "Mr"), a speech verb beside them ("..., said
  Jane Doe"), a lowercase role before them ("governor Satoshi Sumita") or an apposition after
  ("..., chairman of", "..., who"). Which words stand beside a run is read in `runs` (its
  cues); an organisation noun before a name or a role after it makes it an organisation ("its
  operator Halcyon Lunar", "Gor Mahia striker"), "in" before it a place. Mentions are clustered
  by loosely spelled surname within the story, so "Zelensky", "President Zelensky" and
  "Volodymyr Zelenskyy" are one tag, named by the longest form seen.
* organisations (`organisations`): a curated list of well-known bodies with acronyms and long
  forms (``data/organisations.json``; "Treasury" or "Senate" alone name the body of the country
  the story is most about), name sequences ending in or built on an organisation word ("...
  Corp", "... Ministry", "Bank of ..."), and acronym <-> long-form links within the story
  ("North Atlantic Treaty Organization (NATO)", or an acronym spelling a long form's initials).
* events, laws, facilities and ships ("World Cup", "Data Protection Regulation", "Cairo
  International Airport", "HMS Victory") name none of these, nor the places inside them; nor do
  Title-Case subheads and headlines, but for the names the gazetteers know.
* topics (`topics`): IPTC Media Topics (``data/mediatopics.csv``, CC BY 4.0 IPTC) matched by their
  labels and those of their narrower topics, plus curated newswire terms
  (``data/topic_terms.json``), scored per level-2 topic with the level-1 parent added.
* wire subjects (`subjects`): kept as ``subject`` tags and mapped onto Media Topics (IPTC subject
  codes by their top-level code, or by an exact label match; wire Media Topic codes directly).
* keywords (`keywords`): the wire's own keywords, plus a few salient words repeated in headline
  and body.

Across stories, `names` gives each entity one slug (enrich's name book). Names are looked for in
capitalised runs of words (`tokens`, `runs`); the word lists the rules
read (titles, organisation words, sentence openers, ...) are data files in ``data/`` too
(`lexicon`). The dateline is a sentence of its own: its place counts, but no name runs on from it
into the body. Every confidence is a named constant in the module of its idea (`confidence` for
the shared ones).

Everything is loaded lazily on the first call and cached for the life of the process. Newswire
vocabulary repeats, so what each token means, each capitalised run's entities, name keys and slugs
are memoised too (in bounded LRU caches, about 10 MB when full).
"""

from __future__ import annotations

from services.enrich.tagging.slugs import slugify_tag
from services.enrich.tagging.subjects import SUBJECT_SCHEME
from services.enrich.tagging.tagger import tag_story
from services.enrich.tagging.topics import MEDTOP_SCHEME, topic_ancestors

__all__ = ["MEDTOP_SCHEME", "SUBJECT_SCHEME", "slugify_tag", "tag_story", "topic_ancestors"]
