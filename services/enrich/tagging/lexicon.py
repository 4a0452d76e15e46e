"""The word lists the entity rules read, one data file each in `services/enrich/data/`.

Each file says in its header what its words are for. All are lowercase and matched against
lowercased tokens.
"""

from __future__ import annotations

from services.enrich.text import word_list

#: Words that stand before a person's name and mark it as one ("President", "analyst").
TITLES = word_list("person_titles.txt")
#: Titles that only ever stand before a person ("Mr", "Dame").
HONORIFICS = word_list("honorifics.txt")
#: Words of a title phrase that are not part of the name after it ("Finance", "State").
OFFICE_WORDS = word_list("office_words.txt")
SPEECH_VERBS = word_list("speech_verbs.txt")
#: Lowercase words a capitalised name may run through ("Bank of Japan", "Procter & Gamble").
CONNECTORS = word_list("name_connectors.txt")
#: Connectors that belong to a person's name ("de Gaulle", "bin Salman").
NAME_PARTICLES = word_list("name_particles.txt")
#: Connectors that end a name after a title ("Zelensky of Ukraine").
NAME_ENDS = CONNECTORS - NAME_PARTICLES
#: A capitalised run with one of these names an organisation ("... Authority", "... Inc").
ORG_WORDS = word_list("organisation_words.txt")
LEGAL_SUFFIXES = word_list("legal_suffixes.txt")
NUMBER_WORDS = word_list("number_words.txt")
DAYS = word_list("weekdays.txt")
#: A capitalised run is split at these ("Monday President Ruto said").
MONTHS_DAYS = word_list("months.txt") | DAYS
#: Capitalised words that are never (part of) a name.
STOP_CAPS = word_list("stop_caps.txt") | MONTHS_DAYS | NUMBER_WORDS
#: Abbreviations whose final period does not end a sentence.
ABBREVIATIONS = word_list("abbreviations.txt")
NAME_SUFFIXES = word_list("name_suffixes.txt")
#: A lowercase word right before a name that makes it an organisation ("its operator Halcyon").
ORG_NOUNS = word_list("organisation_nouns.txt")
#: A name with one of these is a place or a feature, not a person ("Rift Valley").
PLACE_WORDS = word_list("place_words.txt")
#: "London-based", "AI-generated": an adjective, never (part of) a name.
ADJECTIVE_ENDS = (
    "-based",
    "-born",
    "-led",
    "-backed",
    "-owned",
    "-run",
    "-listed",
    "-bred",
    "-generated",
    "-made",
    "-style",
    "-linked",
    "-related",
    "-speaking",
    "-powered",
)
#: A capitalised run with one of these names an event, a treaty or a law ("World Cup").
_EVENT_AND_SHIP_WORDS = word_list("event_words.txt")
EVENT_WORDS = frozenset(w for w in _EVENT_AND_SHIP_WORDS if not w.startswith("^"))
#: A run opening with one of these names a ship ("RRS Sir David Attenborough").
SHIP_PREFIXES = frozenset(w[1:] for w in _EVENT_AND_SHIP_WORDS if w.startswith("^"))
