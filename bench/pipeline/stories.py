"""Synthetic ninjs 1.x text stories, deterministic for a seed.

Seven topics (conflict, politics, economy, climate, football, technology, health), each with its
own places, people, organisations, medtop subjects and phrases. A story follows a "storyline" (a
few of its topic's entities, so related stories share them), and one in five mixes in a second
topic, so the tagger and the related-links index have realistic work to do.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

# fmt: off
TOPICS: dict[str, dict[str, Any]] = {
    "conflict": {
        "subjects": [
            ("20000062", "war"), ("20000056", "armed conflict"), ("20000598", "defence"),
        ],
        "places": [
            "Kyiv", "Kharkiv", "Donetsk", "Zaporizhzhia", "Kursk", "Odesa", "Sudzha", "Bakhmut",
            "Kherson", "Moscow", "Belgorod", "Pokrovsk",
        ],
        "people": [
            ("Volodymyr Zelensky", "president"), ("Oleksandr Syrskyi", "army chief"),
            ("Andriy Sybiha", "foreign minister"), ("Dmitry Peskov", "Kremlin spokesman"),
            ("Maria Lindqvist", "defence analyst"), ("Rustem Umerov", "defence minister"),
        ],
        "orgs": [
            "the general staff", "NATO", "the defence ministry", "the United Nations",
            "the International Atomic Energy Agency", "the European Union",
        ],
        "nouns": [
            "drone strikes", "artillery fire", "air defences", "armoured brigades",
            "the front line", "reserves", "a prisoner exchange", "the power grid",
            "ballistic missiles", "minefields", "a ceasefire proposal", "supply lines",
        ],
        "verbs": [
            "pushed deeper into", "shelled", "withdrew from", "reinforced", "struck",
            "recaptured villages near", "evacuated residents from", "targeted",
        ],
        "headlines": [
            "{org_c} says {noun} hit {place}", "Fighting intensifies near {place}",
            "{person} vows to hold {place} as {noun} continue", "Ukrainian forces {verb} {place}",
            "Residents flee {place} after {noun}",
        ],
    },
    "politics": {
        "subjects": [
            ("11000000", "politics"), ("20000587", "parliament"), ("20000574", "elections"),
        ],
        "places": [
            "Nairobi", "Mombasa", "Berlin", "Paris", "Brasilia", "New Delhi", "Lagos",
            "Westminster", "Canberra", "Ottawa", "Pretoria", "Jakarta",
        ],
        "people": [
            ("William Ruto", "president"), ("Olaf Scholz", "chancellor"),
            ("Raila Odinga", "opposition leader"), ("Moses Wetangula", "speaker"),
            ("Amina Mohamed", "cabinet secretary"), ("Keir Starmer", "prime minister"),
        ],
        "orgs": [
            "the National Assembly", "the ruling coalition", "the electoral commission",
            "the Senate", "the supreme court", "the finance committee",
        ],
        "nouns": [
            "the finance bill", "a no-confidence vote", "new taxes on fuel", "the budget",
            "a cabinet reshuffle", "protesters", "the coalition talks", "turnout",
            "constitutional reform", "the opposition", "early elections",
        ],
        "verbs": [
            "debated", "passed", "rejected", "amended", "postponed a vote on", "challenged",
            "defended", "called for",
        ],
        "headlines": [
            "Lawmakers in {place} {verb} {noun}", "{person} faces pressure over {noun}",
            "{org_c} {verb} {noun}", "Protests grow in {place} over {noun}",
            "{person} calls for {noun}",
        ],
    },
    "economy": {
        "subjects": [
            ("04000000", "economy, business and finance"), ("20000350", "central bank"),
            ("20000344", "inflation"),
        ],
        "places": [
            "Tokyo", "Frankfurt", "Washington", "London", "Beijing", "Mumbai", "Sao Paulo",
            "Zurich", "Singapore", "Seoul", "Toronto", "Johannesburg",
        ],
        "people": [
            ("Kazuo Ueda", "governor"), ("Christine Lagarde", "ECB president"),
            ("Jerome Powell", "Fed chair"), ("Andrew Bailey", "governor"),
            ("Priya Natarajan", "chief economist"), ("Lars Feld", "economist"),
        ],
        "orgs": [
            "the Bank of Japan", "the European Central Bank", "the Federal Reserve",
            "the Bank of England", "the International Monetary Fund", "the finance ministry",
        ],
        "nouns": [
            "interest rates", "inflation", "the yen", "bond yields", "wage growth",
            "consumer prices", "the jobs report", "quantitative tightening", "the housing market",
            "exports", "a recession", "the currency",
        ],
        "verbs": [
            "raised", "cut", "held steady", "warned about", "signalled a pause in",
            "revised its forecast for", "intervened to support", "tightened",
        ],
        "headlines": [
            "{org_c} {verb} {noun}", "{person} signals caution on {noun}",
            "Markets in {place} react as {org} {verb} {noun}",
            "{noun_c} surprise economists in {place}", "{person} warns on {noun}",
        ],
    },
    "climate": {
        "subjects": [
            ("06000000", "environment"), ("20000418", "climate change"),
            ("20000249", "renewable energy"),
        ],
        "places": [
            "Rajasthan", "Gujarat", "Dubai", "Bonn", "Nairobi", "Queensland", "Texas",
            "California", "Chile", "Morocco", "Denmark", "Baku",
        ],
        "people": [
            ("Simon Stiell", "UN climate chief"), ("Sultan al-Jaber", "summit president"),
            ("Anita Rao", "energy analyst"), ("Wanjira Mathai", "campaigner"),
            ("Fatih Birol", "IEA director"), ("Helena Costa", "grid operator"),
        ],
        "orgs": [
            "the International Energy Agency", "the climate secretariat", "the energy ministry",
            "the grid operator", "developers", "the utility",
        ],
        "nouns": [
            "solar capacity", "battery storage", "an auction", "emissions", "a heatwave",
            "wind farms", "coal plants", "carbon prices", "the energy transition", "drought",
            "green hydrogen", "transmission lines",
        ],
        "verbs": [
            "approved", "expanded", "delayed", "awarded contracts for", "phased out", "doubled",
            "invested in", "warned about",
        ],
        "headlines": [
            "{place} {verb} {noun}", "{org_c} sees record {noun}",
            "{person} urges action on {noun}", "Heat pushes {place} to limit",
            "{noun_c} surge in {place} as prices fall",
        ],
    },
    "football": {
        "subjects": [
            ("15000000", "sport"), ("20000851", "football"), ("20000822", "sport competition"),
        ],
        "places": [
            "Nairobi", "Madrid", "Manchester", "Munich", "Milan", "Dallas", "Doha", "Lagos",
            "Buenos Aires", "Lisbon", "Marseille", "Casablanca",
        ],
        "people": [
            ("Sebastien Migne", "coach"), ("Michael Olunga", "striker"),
            ("Carlo Ancelotti", "manager"), ("Pep Guardiola", "manager"),
            ("Aitana Bonmati", "midfielder"), ("Vinicius Junior", "forward"),
        ],
        "orgs": [
            "FIFA", "the football federation", "the league", "UEFA", "the club",
            "the players' union",
        ],
        "nouns": [
            "the World Cup", "a late equaliser", "the qualifiers", "the transfer window",
            "a penalty shootout", "the title race", "heat breaks", "the group stage",
            "a hamstring injury", "the final", "relegation", "the squad",
        ],
        "verbs": [
            "won", "drew", "lost", "qualified for", "named the squad for", "was knocked out of",
            "celebrated", "criticised",
        ],
        "headlines": [
            "{person} {verb} {noun}", "Late drama in {place} as {noun} decided",
            "{org_c} confirms {noun}", "Harambee Stars {verb} {noun}",
            "{noun_c} looms for {place} side",
        ],
    },
    "technology": {
        "subjects": [
            ("13000000", "science and technology"), ("20000763", "artificial intelligence"),
            ("20000619", "regulation"),
        ],
        "places": [
            "Brussels", "San Francisco", "Seattle", "Shenzhen", "Bangalore", "London", "Tallinn",
            "Seoul", "Taipei", "Dublin", "Austin", "Helsinki",
        ],
        "people": [
            ("Margrethe Vestager", "commissioner"), ("Sam Altman", "chief executive"),
            ("Lina Khan", "regulator"), ("Jensen Huang", "chief executive"),
            ("Ada Okafor", "researcher"), ("Thierry Breton", "commissioner"),
        ],
        "orgs": [
            "the European Commission", "the AI Office", "regulators", "chipmakers",
            "the data protection authority", "the start-up",
        ],
        "nouns": [
            "the AI Act", "high-risk systems", "chip exports", "large language models",
            "data centres", "guidance", "facial recognition", "a cyberattack",
            "semiconductor supply", "open-source models", "privacy rules", "cloud prices",
        ],
        "verbs": [
            "published", "fined", "restricted", "launched", "investigated", "delayed rules on",
            "unveiled", "banned",
        ],
        "headlines": [
            "{org_c} {verb} {noun}", "{person} defends {noun}", "{place} bets on {noun}",
            "New rules on {noun} take effect", "{noun_c} under scrutiny in {place}",
        ],
    },
    "health": {
        "subjects": [
            ("07000000", "health"), ("20000446", "disease"), ("20000464", "vaccine"),
        ],
        "places": [
            "Geneva", "Kinshasa", "Dhaka", "Lima", "Kampala", "Manila", "Atlanta", "Accra",
            "Hanoi", "Karachi", "Madrid", "Harare",
        ],
        "people": [
            ("Tedros Adhanom Ghebreyesus", "WHO chief"), ("Jean Kaseya", "Africa CDC head"),
            ("Mandy Cohen", "CDC director"), ("Sarah Mbeki", "epidemiologist"),
            ("Rahul Desai", "health minister"), ("Elena Ruiz", "virologist"),
        ],
        "orgs": [
            "the World Health Organization", "Africa CDC", "the health ministry", "hospitals",
            "Gavi", "the regulator",
        ],
        "nouns": [
            "an outbreak", "vaccination campaigns", "mpox cases", "a cholera outbreak",
            "hospital admissions", "drug prices", "a new vaccine", "dengue",
            "antibiotic resistance", "clinical trials", "nurses' pay", "malaria",
        ],
        "verbs": [
            "declared an emergency over", "rolled out", "reported a rise in", "approved",
            "contained", "warned about", "funded", "tracked",
        ],
        "headlines": [
            "{org_c} {verb} {noun}", "{place} battles {noun}", "{person} warns of {noun}",
            "Cases climb in {place} amid {noun}", "{noun_c} reach {place}",
        ],
    },
}
# fmt: on

SENTENCES = [
    "{person_full}, the {role}, said on {day} that {noun} would shape the coming weeks in {place}.",
    "Officials in {place} said {org} had {verb} {noun} after talks that ran late into the night.",
    '"We are watching {noun} very closely," {person} told reporters in {place}.',
    "The move comes after {org} {verb} {noun}, according to people familiar with the matter.",
    "Analysts said {noun} and {noun2} were now the main risks for {place}.",
    "{org_c} has {verb} {noun} {num} times this year, figures published on {day} showed.",
    "In {place}, residents described {noun} as the worst they could remember.",
    "{person_full} did not respond to a request for comment on {noun}.",
    "Critics argue that {noun} has done little to address {noun2} in {place} and beyond.",
    "A statement from {org} said it {verb} {noun} to protect people in {place}.",
    "The figures suggest {noun} rose by {num} percent compared with the same period last year.",
    '"There is no quick fix for {noun}," said {person_full}, the {role}.',
    "Earlier, {org} {verb} {noun2}, a decision that surprised many in {place2}.",
    "Talks between {org} and officials from {place2} are expected to resume on {day}.",
    "Some {num} people gathered in {place} on {day}, according to local media.",
    "The {role} added that {noun2} would be reviewed before the end of the month.",
    "Observers in {place2} said the developments could ripple far beyond {place}.",
    "Data from {org} showed {noun} had {verb2} over the past {num} days.",
]
SUBHEADS = ["What happens next", "A long road", "Reaction", "Background", "The numbers"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
BYLINES = [
    "Olena Marchenko",
    "David Otieno",
    "Hiroshi Tanaka",
    "Ana Ferreira",
    "Sam Whitfield",
    "Priya Menon",
    "Lucas Moreau",
    "Grace Wanjiru",
    "Tom Becker",
    "Leila Haddad",
]
BASE_TIME = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def make_story(rng: random.Random, index: int, namespace: str) -> dict[str, Any]:
    """One ninjs 1.x text story: 5-8 paragraphs, ~300-500 words, on one (sometimes two) topics."""
    name = rng.choice(list(TOPICS))
    topic = TOPICS[name]
    # A story follows a "storyline": a few of its topic's entities, so related stories share them.
    places = rng.sample(topic["places"], 3)
    people = rng.sample(topic["people"], 3)
    orgs = rng.sample(topic["orgs"], 3)
    second = TOPICS[rng.choice(list(TOPICS))] if rng.random() < 0.2 else topic

    def fill(template: str, mix: bool = True) -> str:
        src = second if mix and rng.random() < 0.15 else topic
        person, role = rng.choice(people if src is topic else src["people"])
        values = {
            "person_full": person,
            "person": person.split()[-1],
            "role": role,
            "place": rng.choice(places if src is topic else src["places"]),
            "place2": rng.choice(src["places"]),
            "org": rng.choice(orgs if src is topic else src["orgs"]),
            "noun": rng.choice(src["nouns"]),
            "noun2": rng.choice(src["nouns"]),
            "verb": rng.choice(src["verbs"]),
            "verb2": rng.choice(["risen", "fallen", "stalled", "doubled", "eased"]),
            "num": str(rng.choice([2, 3, 5, 7, 12, 15, 20, 40, 120, 300, 1500])),
            "day": rng.choice(DAYS),
        }
        values["org_c"] = _cap(values["org"])
        values["noun_c"] = _cap(values["noun"])
        return _cap(template.format(**values))

    target_words = rng.randint(300, 500)
    n_paragraphs = rng.randint(5, 8)
    per_paragraph = target_words / n_paragraphs
    blocks: list[str] = []
    words = 0
    for p in range(n_paragraphs):
        sentences: list[str] = []
        count = 0
        while count < per_paragraph * 0.9 or not sentences:
            sentence = fill(rng.choice(SENTENCES))
            sentences.append(sentence)
            count += len(sentence.split())
        words += count
        if p in (3, 5) and rng.random() < 0.4:
            blocks.append(f"<h2>{rng.choice(SUBHEADS)}</h2>")
        blocks.append(f"<p>{' '.join(sentences)}</p>")
    created = BASE_TIME + timedelta(minutes=index * 7 + rng.randint(0, 6))
    stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    headline = fill(rng.choice(topic["headlines"]), mix=False)
    return {
        "uri": f"urn:wirepress:bench:{namespace}:{index:06d}",
        "type": "text",
        "version": "1",
        "firstcreated": stamp,
        "versioncreated": stamp,
        "pubstatus": "usable",
        "language": "en",
        "urgency": rng.randint(2, 5),
        "headline": headline,
        "byline": f"By {rng.choice(BYLINES)}",
        "located": places[0],
        "description_text": fill(rng.choice(SENTENCES)),
        "body_html": "\n".join(blocks),
        "subject": [
            {"scheme": "medtop", "code": code, "name": label}
            for code, label in rng.sample(topic["subjects"], 2)
        ],
        "keywords": [places[0], people[0][0], *rng.sample(topic["nouns"], 2)],
        "usageterms": "Wirepress benchmark: synthetic text, not news.",
        "_words": words,  # dropped before sending
    }


def make_stories(count: int, seed: int, namespace: str) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [make_story(rng, i, namespace) for i in range(count)]
