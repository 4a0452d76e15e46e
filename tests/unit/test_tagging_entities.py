"""People, organisations and places that are right: what the words around a name say it is."""

from __future__ import annotations

import pytest

from services.enrich.tagging import tag_story

pytestmark = pytest.mark.unit


def _names(tags, kind):
    return {t.name for t in tags if t.type == kind}


def _tags(headline, body, dateline=None):
    return tag_story(headline, body, [], dateline=dateline)


def test_a_name_with_no_cue_anywhere_is_no_person_however_often_it_comes():
    tags = _tags(
        "Harambee Stars name new coach",
        "Harambee Stars will face Uganda in March. Harambee Stars last won in 2019, and the US "
        "Coast Guard warned of gales. Coast Guard crews stood by.",
    )
    assert _names(tags, "person") == set()


def test_a_lowercase_role_before_or_an_apposition_after_makes_a_person():
    tags = _tags(
        "Rates left unchanged",
        "The bank agreed with governor Satoshi Sumita that no cut was due. Beryl Sprinkel, "
        "chairman of the council, disagreed. Hisham Nazer, who replaced him, stayed silent.",
    )
    assert {"Satoshi Sumita", "Beryl Sprinkel", "Hisham Nazer"} <= _names(tags, "person")


def test_an_organisation_noun_before_or_a_role_after_makes_an_organisation():
    tags = _tags(
        "Lander touches down",
        "The lander touched down on Saturday, its operator Halcyon Lunar said. Gor Mahia "
        "striker Brian Wekesa has joined a Belgian club, Gor Mahia said.",
    )
    assert {"Halcyon Lunar", "Gor Mahia"} <= _names(tags, "organisation")
    assert _names(tags, "person") == {"Brian Wekesa"}


def test_a_single_word_before_a_role_is_not_taken_for_its_employer():
    tags = _tags("Race won", 'Lily Harrington, the Californian driver, said she was "delighted".')
    assert "Californian" not in _names(tags, "organisation")
    assert "Lily Harrington" in _names(tags, "person")


def test_a_name_after_in_is_no_person_anywhere_in_the_story():
    tags = _tags(
        "Storm nears Texas",
        "Officials told a news conference in Corpus Christi that water kills. Hospitals in Corpus "
        "Christi said they were moving patients, and Corpus Christi said schools would close.",
    )
    assert "Corpus Christi" not in _names(tags, "person")


def test_a_sentence_end_before_a_name_says_nothing_of_it():
    tags = _tags(
        "Museum returns throne",
        '"They were taken," said Dr Emmanuel Tchoumba. He co-led the research team. Tchoumba '
        "said the team had found the papers.",
    )
    assert "Tchoumba" not in _names(tags, "organisation")
    assert "Emmanuel Tchoumba" in _names(tags, "person")


def test_a_possessive_ends_a_name():
    tags = _tags(
        "Inflation eases",
        "Services inflation is watched by the Bank of England. The Bank of England's Monetary "
        "Policy Committee meets on Thursday, and Russia's Kursk region was quiet.",
    )
    orgs = _names(tags, "organisation")
    assert "Bank of England" in orgs
    assert not any(o.startswith("Bank of England ") for o in orgs)
    assert "Kursk region" in _names(tags, "place")


def test_a_paragraph_or_a_subhead_ends_a_name_without_a_full_stop():
    tags = _tags(
        "Inflation eases",
        "Inflation fell to 3.3% in May, the Bank of England said.\n\nPressure on the Bank\n\n"
        "The figures come a day before the Bank's meeting.",
    )
    assert "Bank The" not in _names(tags, "organisation")


def test_a_title_case_subhead_names_only_what_the_gazetteers_know():
    tags = _tags(
        "Fighting spreads",
        "Shelling hit the town on Monday, officials said.\n\nEscalating Tensions Near Kharkiv\n\n"
        "A Front That Has Crept North\n\nResidents left by train.",
    )
    assert _names(tags, "person") == set()
    assert "Front That Has Crept North" not in _names(tags, "organisation")
    assert "Kharkiv" in _names(tags, "place")


def test_events_laws_and_facilities_give_no_entities_but_what_comes_after_of_the_does():
    tags = _tags(
        "Trade talks",
        "Hopes rest on the Uruguay Round of the General Agreement on Tariffs and Trade, said "
        "minister Jane Roe. The World Cup starts in June. Flights left Cairo International Airport "
        "and the Data Protection Regulation applies.",
    )
    assert "Uruguay" not in _names(tags, "place")
    assert "GATT" in _names(tags, "organisation")
    assert _names(tags, "person") == {"Jane Roe"}
    assert "Cairo International Airport" not in _names(tags, "organisation")


def test_first_level_divisions_features_and_dateline_state_abbreviations_are_places():
    tags = _tags(
        "Ukrainian forces push into Russia's Kursk region",
        "Fighting spread across the Kursk region and into Ontario's news. Storms crossed the Gulf "
        "of Mexico, and the Rift Valley was dry.",
        dateline="WESTPORT, Conn., Feb 26 -",
    )
    places = _names(tags, "place")
    assert {"Kursk region", "Connecticut", "United States", "Gulf of Mexico"} <= places
    assert "Mexico" not in places
    assert "Rift Valley" not in _names(tags, "person")


def test_a_place_named_once_in_passing_after_the_lead_is_no_tag():
    lead = "Kenya's parliament passed the budget on Tuesday after a long debate in Nairobi. "
    filler = "Lawmakers argued over taxes on bread, fuel and mobile money for hours. " * 4
    tags = _tags("Budget passes", lead + filler + "A similar bill failed in Peru last year.")
    places = _names(tags, "place")
    assert "Kenya" in places
    assert "Peru" not in places
    again = _tags("Budget passes", lead + filler + "Peru's bill failed. Peru tried again.")
    assert "Peru" in _names(again, "place")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "The Treasury said on Monday that borrowing fell in Britain, where the Treasury "
            "and the United Kingdom's statistics office agreed.",
            "HM Treasury",
        ),
        (
            "Kenya's budget gap widened, and the Treasury said Kenya would borrow less.",
            "National Treasury (Kenya)",
        ),
        (
            "Brazil's Congress voted, and the Senate in Brazil will vote next. Brazil's markets "
            "rose, while Washington was quiet.",
            None,
        ),
    ],
)
def test_a_bare_treasury_or_senate_is_the_body_of_the_country_the_story_is_about(body, expected):
    orgs = _names(_tags("Budget", body), "organisation")
    locals_ = {o for o in orgs if "Treasury" in o or "Senate" in o or "Congress" in o}
    assert locals_ == ({expected} if expected else set())


def test_and_splits_two_companies_but_not_one_body():
    tags = _tags(
        "Cocoa prices",
        "Buyers such as Hershey and Mondelez International said prices rose. The Competition and "
        "Markets Authority said it would look at the deal.",
    )
    orgs = _names(tags, "organisation")
    assert "Mondelez International" in orgs
    assert "Competition and Markets Authority" in orgs
    assert "Hershey and Mondelez International" not in orgs


def test_a_family_name_first_mention_joins_the_full_name():
    tags = _tags(
        "Busan awards",
        "Festival director Lee Seon-hwa said 224 films came. Ms Lee said the city was a bridge. "
        "The Vietnamese director Tran Minh Chau won; Ms Tran thanked the jury.",
    )
    assert _names(tags, "person") == {"Lee Seon-hwa", "Tran Minh Chau"}


def test_name_particles_suffixes_ships_and_adjectives():
    tags = _tags(
        "EU summit",
        "Commission President Ursula von der Leyen said the deal held. President Ferdinand "
        "Marcos Jr said he would protest. The RRS Sir David Attenborough sailed south. Nina "
        "Hartmann, his agent at the London-based Quattro Sports Management, said he was fit.",
    )
    people = _names(tags, "person")
    assert {"Ursula von der Leyen", "Ferdinand Marcos Jr", "Nina Hartmann"} <= people
    assert "David Attenborough" not in people
    assert "Quattro Sports Management" in _names(tags, "organisation")


def test_spellings_of_one_name_in_a_story_are_one_tag_and_boe_is_the_bank_of_england():
    tags = _tags(
        "Zelenskyy meets allies",
        "President Volodymyr Zelenskyy spoke in Kiev. Later Zelensky said talks went well, and "
        "Mr Zelenskiy left. The BoE kept rates on hold.",
    )
    assert _names(tags, "person") == {"Volodymyr Zelenskyy"}
    assert "Bank of England" in _names(tags, "organisation")
    assert "Kyiv" in _names(tags, "place")


def test_a_bodys_name_goes_on_through_of_the_and_for_the_and_its_remits_commas():
    tags = _tags(
        "Aid talks",
        "The United Nations Office for the Coordination of Humanitarian Affairs said aid was "
        "short. The Ministry of Culture, Sports and Tourism and the Culture, Media and Sport "
        "Committee both spoke. Arsenal for the Premier League is a phrase, and the Bank of "
        "England, Barclays and HSBC are three.",
    )
    orgs = _names(tags, "organisation")
    assert {
        "United Nations Office for the Coordination of Humanitarian Affairs",
        "Ministry of Culture, Sports and Tourism",
        "Culture, Media and Sport Committee",
        "Bank of England",
    } <= orgs
    assert not any(o.startswith("Arsenal for") for o in orgs)
    assert not any(o.startswith("Bank of England,") for o in orgs)
