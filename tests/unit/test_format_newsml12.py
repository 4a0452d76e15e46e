"""NewsML 1.2 (services.ingest.formats.newsml12): the four real-world samples in
../shared/wire-samples/newsml-1.2, with what each must give written down by hand, and small
made-up documents for the cases the samples do not have."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.ingest.formats.draft import KILLED_HEADLINE, build_article
from services.ingest.formats.errors import (
    InvalidField,
    MalformedPayload,
    MissingField,
    NotATextStory,
)
from services.ingest.formats.newsml12 import NEWSML_12_ROOT, parse_newsml12
from services.ingest.formats.xmlsafe import parse_xml
from shared.html import body_blocks, plain_text
from shared.models import Article

pytestmark = pytest.mark.unit

SAMPLES = Path(__file__).resolve().parents[2].parent / "shared" / "wire-samples" / "newsml-1.2"
ZONE = "Europe/Brussels"


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def articles(payload: bytes | str, default_tz: str = ZONE) -> list[Article]:
    return [build_article(d) for d in parse_newsml12(parse_xml(payload), default_tz)]


def article(payload: bytes | str, default_tz: str = ZONE) -> Article:
    (only,) = articles(payload, default_tz)
    return only


def paragraphs(story: Article) -> list[str]:
    return [plain_text(block) for block in body_blocks(story.body_html)]


# --- the samples -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    guid: str
    version: str
    headline: str
    language: str
    firstcreated: datetime
    versioncreated: datetime
    byline: str | None
    located: str | None
    first_paragraph: str
    last_paragraph: str
    paragraphs: int
    subjects: tuple[tuple[str | None, str], ...]
    description: str | None
    urgency: int | None
    keywords: tuple[str, ...] = ()
    pubstatus: str = "usable"


EXPECTED = {
    "superdesk-belga_anp_belga.xml": Expected(
        guid="urn:newsml:anp.nl:20181210:ANPX-101218-041",  # PublicIdentifier without ':2'
        version="2",
        headline="FNV staat alleen met acties bij PostNL (2)",
        language="nl",
        firstcreated=utc("2018-12-10T08:35:49"),
        versioncreated=utc("2018-12-10T11:37:31"),
        byline=None,  # ByLine is empty; the author is only in the SlugLine
        located=None,  # DateLine empty, and the Location only a country code (NLD)
        # The update's replaces-notice is an ordinary paragraph of the NITF body.
        first_paragraph="N i e u w bericht, vervangt: FNV staat alleen met ultimatum aan PostNL",
        last_paragraph="De drie bonden vinden het ook een brug te ver om juist in de drukke periode "
        "rond kerst en oud en nieuw acties te organiseren. Die kunnen PostNL dusdanig hard "
        "raken dat ook de werkgelegenheid bij het bedrijf in gevaar komt, waarschuwen ze in een "
        "gezamenlijke brief aan hun leden.",
        paragraphs=5,
        subjects=(("urn:newsml:anp.nl:20090407:ANPCatCodes:Webfeed", "ECO"),),
        description=None,  # SubHeadLine is empty
        urgency=3,
        keywords=("Tennis", "TENNIS-NIEUWS-MEDVEDEV", "BRIEF"),
    ),
    "superdesk-belga_ats_newsml_1_2_belga.xml": Expected(
        guid="urn:newsml:www.sda-ats.ch:20190603:bsf153",  # without ':1N'
        version="1",
        headline="Un taureau entre dans un magasin à Landquart (GR)",
        language="fr",
        firstcreated=utc("2019-06-03T15:47:29"),
        versioncreated=utc("2019-06-03T15:47:29"),
        byline=None,  # only 'author' Properties with initials
        located="Landquart GR",
        first_paragraph="Un taureau âgé d'un an est entré dans un magasin Denner lundi à "
        "Landquart (GR). L'animal, qui s'était échappé de son enclos peu après 11h00, est "
        "ressorti par l'autre côté du bâtiment. Il n'y a pas eu de blessé.",
        last_paragraph="Le jeune taureau s'est ensuite dirigé vers Maienfeld (GR). Avec l'aide "
        "du propriétaire de l'animal, deux patrouilles de police ont réussi à le diriger vers "
        "un champ peu avant midi. Il a ensuite été transporté dans son enclos.",
        paragraphs=3,
        subjects=(
            ("subj", "08000000"),
            ("subj", "04000000"),
            ("subj", "04001000"),
            ("subj", "04007005"),
            ("subj", "04007000"),
        ),
        description=None,
        urgency=4,
    ),
    "superdesk-belga_efe_belga.xml": Expected(
        guid="urn:newsml:texto.efeservicios.com:20190121T103600+0000:25413502",
        version="1",
        headline="Leones matan a un joven que se coló en un zoológico de la India",
        language="es",
        firstcreated=utc("2019-01-21T10:36:00"),
        versioncreated=utc("2019-01-21T10:36:00"),
        byline="daa/mt/msr",  # the NITF byline (NewsLines has none)
        located=None,
        first_paragraph="Nueva Delhi, 21 ene (EFE).- Una pareja de leones asiáticos hirieron "
        "mortalmente a un joven de unos 26 años de edad que se coló en un área restringida de "
        "un zoológico cercano a la ciudad de Chandigarh, en el norte de la India, informó hoy a "
        "Efe una fuente oficial.",
        last_paragraph="El león asiático es una especie amenazada en la India, cuyo principal "
        "santuario se encuentra en el entorno del parque Gir y, según los datos del Fondo "
        "Mundial para la Naturaleza (WWF), en la actualidad el país cuenta con una población "
        "de unos 500 ejemplares. EFE",
        paragraphs=9,
        # NewsML's own codes, not the NITF tobject's (which differ: 06002001).
        subjects=(("subj", "02001000"), ("subj", "01026000")),
        # The NITF abstract wins over the SubHeadLine ('INDIA SUCESOS'), cut as EFE cut it.
        description="Nueva Delhi, 21 ene (EFE).- Una pareja de leones asiáticos hirieron "
        "mortalmente a un joven de unos 26 años de edad que se coló en un área restringida de "
        "un zoológico cercano a la ciudad de Chandigarh, en el norte de la India, informó hoy a "
        "Efe una fuente oficial.,El hombre, cuya identidad continúa siendo un misterio, trató "
        "de entrar al parque el domingo saltando un muro trasero de casi cinco metros de altura "
        "y fue a parar directamente a un recinto ocupado por dos leones adultos, dijo el "
        "secretar",
        urgency=5,
        keywords=("INDIA SUCESOS",),
    ),
    "superdesk_ana1.xml": Expected(
        guid="urn:newsml:ana-mpe.gr:20180404:19336333",
        version="1",
        headline="Wage employment balance positive in Jan-March",
        language="en",
        firstcreated=utc("2018-04-04T14:58:59"),
        versioncreated=utc("2018-04-04T14:58:59"),
        byline="ΑΠΕ-ΜΠΕ",  # the CreditLine: no ByLine, NITF or Creator
        located=None,  # DateLine '4/4/2018' is a date, not a place
        first_paragraph="Wage employment in the private sector grew in March, recording the "
        "best performance since 2001, the Labour ministry said in a report released on "
        "Wednesday.",
        # Greek letters that look Latin are what ANA-MPE sent, not typos.
        last_paragraph="© ΑΠΕ-ΜΠΕ ΑΕ. Τα πνευματικά δικαιώματα ανήκουν στο ΑΠΕ-ΜΠΕ ΑΕ και "  # noqa: RUF001
        "παραχωρούνται σε συνδρομητές μόνον για συγκεκριμένη χρήση.",  # noqa: RUF001
        paragraphs=4,  # the '<P> </P>' spacer is no paragraph
        subjects=(("subj", "09003000"), ("subj", "09003002"), ("subj", "04008004")),
        description="Wage employment in the private sector grew in March, recording the best "
        "performance since 2001, the Labour ministry said in a report released on Wednesday.",
        urgency=None,
    ),
}


def sample_payload(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample(name: str) -> None:
    expected = EXPECTED[name]
    story = article(sample_payload(name))
    assert story.guid == expected.guid
    assert story.version == expected.version
    assert story.headline == expected.headline
    assert story.language == expected.language
    assert story.pubstatus == expected.pubstatus
    assert story.firstcreated == expected.firstcreated
    assert story.versioncreated == expected.versioncreated
    assert not story.timezone_assumed
    assert story.byline == expected.byline
    assert story.located == expected.located
    assert story.description == expected.description
    assert story.urgency == expected.urgency
    assert tuple(story.keywords) == expected.keywords
    assert tuple((s.scheme, s.code) for s in story.subjects) == expected.subjects
    texts = paragraphs(story)
    assert len(texts) == expected.paragraphs
    assert texts[0] == expected.first_paragraph
    assert texts[-1] == expected.last_paragraph
    assert story.embargoed is None


def test_every_newsml12_sample_is_expected() -> None:
    assert {p.name for p in SAMPLES.glob("*.xml")} == set(EXPECTED)


def test_samples_have_the_newsml12_root() -> None:
    for name in EXPECTED:
        assert parse_xml(sample_payload(name)).tag == NEWSML_12_ROOT


def test_sample_whose_subset_only_pulls_in_a_dtd_is_read_as_sent() -> None:
    """SDA-ATS declares and references `%nitf;` (an external parameter entity) in its internal
    subset: that only loads a DTD, never fetched, so the subset is dropped and the file read."""
    raw = (SAMPLES / "superdesk-belga_ats_newsml_1_2_belga.xml").read_bytes()
    assert parse_xml(raw).tag == NEWSML_12_ROOT


def test_sample_topic_names_fill_in_subject_names() -> None:
    story = article(sample_payload("superdesk_ana1.xml"))
    assert [s.name for s in story.subjects] == [
        "Employment/Unemployment",
        "Job Layoffs",
        "Economic Indicator",
    ]


def test_sample_comments_and_nitf_head_stay_out_of_the_body() -> None:
    story = article(sample_payload("superdesk-belga_efe_belga.xml"))
    assert "Agencia EFE" not in story.body_html  # body.head's rights and distributor
    assert "prioridad" not in story.body_html
    assert "<hl1>" not in story.body_html and "<h1>" not in story.body_html


# --- made-up documents -----------------------------------------------------------------------


def identification(
    item_id: str | None = "story-1",
    revision: str | None = "1",
    public: str | None = None,
    provider: str = "wire.example",
    date_id: str = "20240105",
) -> str:
    if item_id is None:
        return "<Identification><NameLabel>no id</NameLabel></Identification>"
    parts = [f"<ProviderId>{provider}</ProviderId>", f"<DateId>{date_id}</DateId>"]
    parts.append(f"<NewsItemId>{item_id}</NewsItemId>")
    if revision is not None:
        parts.append(f'<RevisionId PreviousRevision="0" Update="N">{revision}</RevisionId>')
    if public is not None:
        parts.append(f"<PublicIdentifier>{public}</PublicIdentifier>")
    return f"<Identification><NewsIdentifier>{''.join(parts)}</NewsIdentifier></Identification>"


def management(
    status: str = "Usable",
    extra: str = "",
    first: str = "20240105T101500+0100",
    revised: str = "20240105T111500+0100",
) -> str:
    return (
        '<NewsManagement><NewsItemType FormalName="News"/>'
        f"<FirstCreated>{first}</FirstCreated><ThisRevisionCreated>{revised}</ThisRevisionCreated>"
        f'<Status FormalName="{status}"/>{extra}</NewsManagement>'
    )


def text_content(data: str = "<p>Body one.</p><p>Body two.</p>", head: str = "") -> str:
    return f'<ContentItem>{head}<MediaType FormalName="Text"/><DataContent>{data}</DataContent></ContentItem>'


def component(
    inside: str = "",
    headline: str | None = "River bursts its banks",
    role: str | None = None,
    lines: str = "",
    metadata: str = "",
) -> str:
    role_xml = f'<Role FormalName="{role}"/>' if role else ""
    news_lines = ""
    if headline is not None or lines:
        hl = f"<HeadLine>{headline}</HeadLine>" if headline is not None else ""
        news_lines = f"<NewsLines>{hl}{lines}</NewsLines>"
    described = f"<DescriptiveMetadata>{metadata}</DescriptiveMetadata>" if metadata else ""
    return f"<NewsComponent>{role_xml}{news_lines}{described}{inside}</NewsComponent>"


def news_item(
    body: str | None = None,
    *,
    ident: str | None = None,
    manage: str | None = None,
) -> str:
    return (
        f"<NewsItem>{identification() if ident is None else ident}"
        f"{management() if manage is None else manage}"
        f"{component(text_content()) if body is None else body}</NewsItem>"
    )


def newsml(*items: str, namespace: bool = False) -> str:
    ns = ' xmlns="http://iptc.org/std/NewsML/2003-10-10/"' if namespace else ""
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><NewsML Version="1.2"{ns}>{"".join(items)}</NewsML>'
    )


PICTURE = component(
    '<ContentItem Href="https://img.example/flood.jpg"><MediaType FormalName="Photo"/>'
    '<MimeType FormalName="image/jpeg"/></ContentItem>',
    headline="Flood picture",
)


def test_a_plain_item_reads_every_field() -> None:
    story = article(newsml(news_item()))
    assert story.guid == "urn:newsml:wire.example:20240105:story-1"
    assert story.version == "1"
    assert story.headline == "River bursts its banks"
    assert story.firstcreated == utc("2024-01-05T09:15:00")
    assert story.versioncreated == utc("2024-01-05T10:15:00")
    assert paragraphs(story) == ["Body one.", "Body two."]


def test_several_news_items_are_all_returned_in_order() -> None:
    first = news_item(ident=identification("a"), body=component(text_content(), "First story"))
    picture = news_item(ident=identification("pic"), body=PICTURE)
    second = news_item(
        ident=identification("b"),
        body=component(text_content("<p>Other.</p>"), "Second story"),
    )
    stories = articles(newsml(first, picture, second))
    assert [s.headline for s in stories] == ["First story", "Second story"]
    assert [s.guid.rsplit(":", 1)[-1] for s in stories] == ["a", "b"]
    assert paragraphs(stories[1]) == ["Other."]


def test_a_document_of_pictures_only_is_not_a_text_story() -> None:
    with pytest.raises(NotATextStory) as caught:
        parse_newsml12(parse_xml(newsml(news_item(body=PICTURE))), ZONE)
    assert caught.value.kind == "picture"


def test_a_caption_does_not_make_a_picture_item_text() -> None:
    captioned = component(
        component(text_content("<p>Water rises in the old town.</p>"), None, role="Caption")
        + component(
            '<ContentItem Href="https://img.example/a.jpg"><MediaType FormalName="Photo"/>'
            "</ContentItem>",
            None,
            role="HighDef",
        )
    )
    with pytest.raises(NotATextStory) as caught:
        parse_newsml12(parse_xml(newsml(news_item(body=captioned))), ZONE)
    assert caught.value.kind == "picture"


def test_a_document_without_news_items_is_malformed() -> None:
    with pytest.raises(MalformedPayload):
        parse_newsml12(parse_xml(newsml()), ZONE)


def test_an_update_only_item_is_refused() -> None:
    update = (
        f"<NewsItem>{identification(revision='2')}{management()}"
        '<Update><Delete DuidRef="p1"/></Update></NewsItem>'
    )
    with pytest.raises(NotATextStory) as caught:
        parse_newsml12(parse_xml(newsml(update)), ZONE)
    assert caught.value.kind == "update"


def test_a_canceled_item_needs_no_body_or_headline() -> None:
    kill = f"<NewsItem>{identification(revision='3')}{management('Canceled')}</NewsItem>"
    story = article(newsml(kill))
    assert story.pubstatus == "canceled"
    assert story.body_html == ""
    assert story.headline == KILLED_HEADLINE
    assert story.version == "3"
    assert story.guid == "urn:newsml:wire.example:20240105:story-1"


def test_status_is_read_in_any_case() -> None:
    assert article(newsml(news_item(manage=management("withheld")))).pubstatus == "withheld"
    assert article(newsml(news_item(manage=management("CANCELED")))).pubstatus == "canceled"


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(InvalidField) as caught:
        parse_newsml12(parse_xml(newsml(news_item(manage=management("Maybe")))), ZONE)
    assert caught.value.field == "Status"


def test_embargoed_with_a_release_time_is_held_until_then() -> None:
    change = (
        '<StatusWillChange><FutureStatus FormalName="Usable"/>'
        "<DateAndTime>20240106T060000+0100</DateAndTime></StatusWillChange>"
    )
    story = article(newsml(news_item(manage=management("Embargoed", change))))
    assert story.pubstatus == "usable"
    assert story.embargoed == utc("2024-01-06T05:00:00")


def test_embargoed_without_a_release_time_is_withheld() -> None:
    story = article(newsml(news_item(manage=management("Embargoed"))))
    assert story.pubstatus == "withheld"
    assert story.embargoed is None


def test_an_unreadable_release_time_is_refused() -> None:
    change = "<StatusWillChange><DateAndTime>next week</DateAndTime></StatusWillChange>"
    with pytest.raises(InvalidField) as caught:
        parse_newsml12(parse_xml(newsml(news_item(manage=management("Embargoed", change)))), ZONE)
    assert caught.value.field == "embargoed"


def test_times_without_a_zone_are_read_in_the_feed_zone() -> None:
    manage = management(first="20240705T101500", revised="20240705T111500")
    story = article(newsml(news_item(manage=manage)), default_tz="Europe/Oslo")
    assert story.firstcreated == utc("2024-07-05T08:15:00")
    assert story.versioncreated == utc("2024-07-05T09:15:00")
    assert story.timezone_assumed


def test_a_missing_headline_is_a_missing_field() -> None:
    (draft,) = parse_newsml12(parse_xml(newsml(news_item(component(text_content(), None)))), ZONE)
    with pytest.raises(MissingField) as caught:
        build_article(draft)
    assert caught.value.field == "headline"


def test_an_empty_headline_is_a_missing_field() -> None:
    empty = component(text_content(), "  <![CDATA[ ]]>  ")
    (draft,) = parse_newsml12(parse_xml(newsml(news_item(empty))), ZONE)
    with pytest.raises(MissingField) as caught:
        build_article(draft)
    assert caught.value.field == "headline"


def test_an_item_without_an_identifier_is_a_missing_field() -> None:
    payload = newsml(news_item(ident=identification(None)))
    (draft,) = parse_newsml12(parse_xml(payload), ZONE)
    with pytest.raises(MissingField) as caught:
        build_article(draft)
    assert caught.value.field == "guid"


def test_revisions_share_one_guid() -> None:
    def guid_and_version(ident: str) -> tuple[str, str]:
        story = article(newsml(news_item(ident=ident)))
        return story.guid, story.version

    base = "urn:newsml:wire.example:20240105:story-1"
    assert guid_and_version(identification(public=f"{base}:1N")) == (base, "1")
    assert guid_and_version(identification(revision="2", public=f"{base}:2")) == (base, "2")
    assert guid_and_version(identification(revision="2", public=f"{base}:2U")) == (base, "2")
    # Without a PublicIdentifier: the same URN, the revision taken out of the item id too.
    assert guid_and_version(identification("story-1-v2", "2")) == (base, "2")
    assert guid_and_version(identification("story-1_V3", "3")) == (base, "3")
    # A number that is not the revision is part of the id.
    assert guid_and_version(identification("story-1-v2", "1"))[0] == f"{base}-v2"


def test_newslines_empty_elements_are_absent() -> None:
    lines = "<SubHeadLine/><ByLine> </ByLine><DateLine/><CreditLine/>"
    story = article(newsml(news_item(component(text_content(), lines=lines))))
    assert story.description is None
    assert story.byline is None
    assert story.located is None


def test_newslines_fill_byline_description_and_located() -> None:
    lines = (
        "<SubHeadLine>Hundreds leave their homes</SubHeadLine>"
        "<ByLine>By Ana Ruiz</ByLine><ByLine>Piet Smit</ByLine><ByLineTitle>Reporters</ByLineTitle>"
        "<DateLine>NAMUR, Jan 5</DateLine><CopyrightLine>(c) Wire</CopyrightLine>"
    )
    story = article(newsml(news_item(component(text_content(), lines=lines))))
    assert story.description == "Hundreds leave their homes"
    assert story.byline == "By Ana Ruiz, Piet Smit"
    assert story.located == "NAMUR, Jan 5"


def test_metadata_of_an_outer_component_holds_for_the_story_inside_it() -> None:
    metadata = (
        '<Language FormalName="de-AT"/>'
        '<SubjectCode><Subject FormalName="06000000"/><SubjectMatter FormalName="06006000"/>'
        '<SubjectDetail FormalName="06006001" Scheme="IptcSubjectCodes"/></SubjectCode>'
        '<Property FormalName="Keyword" Value="flood;river"/><Property FormalName="Ticker" Value="X"/>'
    )
    inner = component(text_content("<p>Inner text.</p>"), None, role="Main")
    outer = component(inner, "Donau tritt über die Ufer", metadata=metadata)
    story = article(newsml(news_item(outer)))
    assert story.headline == "Donau tritt über die Ufer"
    assert story.language == "de"
    assert [(s.scheme, s.code) for s in story.subjects] == [
        ("subj", "06000000"),
        ("subj", "06006000"),
        ("subj", "06006001"),
    ]
    assert story.keywords == ["flood", "river"]
    assert paragraphs(story) == ["Inner text."]


def test_a_provider_vocabulary_is_kept_as_the_scheme() -> None:
    metadata = (
        '<SubjectCode><Subject Vocabulary="urn:newsml:wire.example:cats" FormalName="SPO"/>'
        '<Subject FormalName=""/></SubjectCode>'
    )
    story = article(newsml(news_item(component(text_content(), metadata=metadata))))
    assert [(s.scheme, s.code) for s in story.subjects] == [("urn:newsml:wire.example:cats", "SPO")]


def test_topic_set_subjects_and_names() -> None:
    topics = (
        '<TopicSet FormalName="NewsSubjects"><Topic>'
        '<TopicType FormalName="SubjectMatter"/><FormalName Scheme="IptcSubjectCodes">15054000</FormalName>'
        '<Description xml:lang="fr" Variant="Name">Football</Description>'
        '<Description xml:lang="en" Variant="Name">soccer</Description></Topic>'
        '<Topic><TopicType FormalName="Person"/><FormalName>Jane Roe</FormalName></Topic>'
        "</TopicSet>"
    )
    body = (
        "<NewsComponent>"
        f"{topics}<NewsLines><HeadLine>Match</HeadLine></NewsLines>"
        '<DescriptiveMetadata><Language FormalName="fr"/></DescriptiveMetadata>'
        f"{text_content()}</NewsComponent>"
    )
    story = article(newsml(news_item(body)))
    assert [(s.scheme, s.code, s.name) for s in story.subjects] == [
        ("subj", "15054000", "Football")
    ]


def test_the_main_role_wins_over_earlier_text_and_notes_stay_out() -> None:
    note = component(text_content("<p>Editors: do not use before noon.</p>"), None, role="Note")
    sidebar = component(text_content("<p>Sidebar text.</p>"), None, role="Supporting")
    main = component(text_content("<p>Main text.</p>"), None, role="Main")
    story = article(newsml(news_item(component(note + sidebar + main))))
    assert paragraphs(story) == ["Main text."]


def test_without_a_main_role_the_first_story_text_is_the_body() -> None:
    note = component(text_content("<p>Advisory for editors.</p>"), None, role="EditorialNote")
    first = component(text_content("<p>First text.</p>"))
    second = component(text_content("<p>Second text.</p>"))
    story = article(newsml(news_item(component(note + first + second))))
    assert paragraphs(story) == ["First text."]


@pytest.mark.parametrize(
    ("data", "head", "expected"),
    [
        (
            '<nitf xmlns="http://iptc.org/std/NITF/2006-10-18/"><body><body.content>'
            '<p>Namespaced NITF.</p><note type="npa"><p>Not for readers.</p></note>'
            "</body.content></body></nitf>",
            '<Format FormalName="NITF"/>',
            ["Namespaced NITF."],
        ),
        (
            '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>T</title></head>'
            "<body><p>XHTML one.</p><p>XHTML two.</p></body></html>",
            '<Format FormalName="XHTML"/>',
            ["XHTML one.", "XHTML two."],
        ),
        ("<p>Bare one.</p><p>Bare <b>two</b>.</p>", "", ["Bare one.", "Bare two."]),
        (
            "&lt;P&gt;Escaped one.&lt;/P&gt;&lt;P&gt;Escaped two.&lt;/P&gt;",
            '<Format FormalName="HTML"/>',
            ["Escaped one.", "Escaped two."],
        ),
        (
            "<![CDATA[<P>CDATA one.</P>\n<P> </P>\n<P>CDATA two.</P>]]>",
            "",
            ["CDATA one.", "CDATA two."],
        ),
        (
            "Plain one.\n\nPlain two &amp; more.",
            '<Format FormalName="Text"/>',
            ["Plain one.", "Plain two & more."],
        ),
        (
            "<![CDATA[<nitf><body><body.content><p>NITF as text.</p></body.content></body></nitf>]]>",
            '<Format FormalName="NITF"/>',
            ["NITF as text."],
        ),
    ],
    ids=["nitf-namespaced", "xhtml", "bare-p", "escaped-html", "cdata-html", "plain", "nitf-text"],
)
def test_body_shapes(data: str, head: str, expected: list[str]) -> None:
    story = article(newsml(news_item(component(text_content(data, head)))))
    assert paragraphs(story) == expected


def test_a_base64_body_is_decoded() -> None:
    encoded = base64.b64encode("<p>Décodé.</p>".encode()).decode()
    content = (
        '<ContentItem><MediaType FormalName="Text"/><Format FormalName="HTML"/>'
        f'<Encoding FormalName="base64"><DataContent>{encoded}</DataContent></Encoding></ContentItem>'
    )
    story = article(newsml(news_item(component(content))))
    assert paragraphs(story) == ["Décodé."]


def test_inline_nitf_fills_what_newslines_lack() -> None:
    nitf = (
        '<nitf baselang="it-IT"><head><docdata><date.release norm="20240106T080000Z"/>'
        '<key-list><keyword key="alluvione"/></key-list></docdata></head>'
        "<body><body.head><hedline><hl1>Il fiume esonda</hl1></hedline>"
        "<byline>di Marco Bianchi</byline><abstract><p>In breve.</p></abstract></body.head>"
        "<body.content><p>Testo.</p></body.content></body></nitf>"
    )
    story = article(newsml(news_item(component(text_content(nitf), None))))
    assert story.headline == "Il fiume esonda"
    assert story.byline == "di Marco Bianchi"
    assert story.description == "In breve."
    assert story.language == "it"
    assert story.keywords == ["alluvione"]
    assert story.embargoed == utc("2024-01-06T08:00:00")
    assert paragraphs(story) == ["Testo."]


def test_a_namespaced_document_reads_the_same() -> None:
    story = article(newsml(news_item(), namespace=True))
    assert story.headline == "River bursts its banks"
    assert paragraphs(story) == ["Body one.", "Body two."]


def test_pictures_in_a_text_item_become_images() -> None:
    renditions = (
        '<ContentItem Href="https://img.example/small.jpg"><MediaType FormalName="Photo"/>'
        '<Characteristics><Property FormalName="Width" Value="200"/>'
        '<Property FormalName="Height" Value="100"/></Characteristics></ContentItem>'
        '<ContentItem Href="https://img.example/large.jpg"><MediaType FormalName="Photo"/>'
        '<MimeType FormalName="image/jpeg"/><Characteristics><Property FormalName="Width" Value="2000"/>'
        '<Property FormalName="Height" Value="1000"/></Characteristics></ContentItem>'
    )
    photo = component(renditions, "Flooded square", role="Photo")
    story = article(newsml(news_item(component(component(text_content(), None) + photo))))
    assert [(i.href, i.caption, i.width, i.mimetype) for i in story.images] == [
        ("https://img.example/large.jpg", "Flooded square", 2000, "image/jpeg")
    ]
    assert paragraphs(story) == ["Body one.", "Body two."]


def test_urgency_is_read() -> None:
    manage = management(extra='<Urgency FormalName="2"/>')
    assert article(newsml(news_item(manage=manage))).urgency == 2


def test_without_this_revision_created_the_version_dates_from_first_created() -> None:
    manage = management(revised="")
    assert article(newsml(news_item(manage=manage))).versioncreated == utc("2024-01-05T09:15:00")


def test_escaped_nitf_that_is_not_one_xml_document_is_read_as_html() -> None:
    payload = (
        b'<?xml version="1.0" encoding="UTF-8"?><NewsML><NewsItem><Identification>'
        b"<NewsIdentifier><ProviderId>example.com</ProviderId><DateId>20240101</DateId>"
        b"<NewsItemId>42</NewsItemId><RevisionId>1</RevisionId></NewsIdentifier></Identification>"
        b"<NewsManagement><Status FormalName='Usable'/></NewsManagement>"
        b"<NewsComponent><NewsLines><HeadLine>Two paragraphs</HeadLine></NewsLines>"
        b"<ContentItem><Format FormalName='NITF'/><DataContent><![CDATA[<p>a</p><p>b&nbsp;c</p>]]>"
        b"</DataContent></ContentItem></NewsComponent></NewsItem></NewsML>"
    )
    [draft] = parse_newsml12(parse_xml(payload), "UTC")
    story = build_article(draft)
    assert story.headline == "Two paragraphs"
    assert story.body_html.startswith("<p>a</p><p>b")


def test_a_nitf_body_without_its_wrapper_is_read_as_nitf() -> None:
    payload = (
        b'<?xml version="1.0" encoding="UTF-8"?><NewsML><NewsItem><Identification>'
        b"<NewsIdentifier><ProviderId>example.com</ProviderId><DateId>20240101</DateId>"
        b"<NewsItemId>43</NewsItemId><RevisionId>1</RevisionId></NewsIdentifier></Identification>"
        b"<NewsManagement><Status FormalName='Usable'/></NewsManagement>"
        b"<NewsComponent><NewsLines><HeadLine>Harbour reopens</HeadLine></NewsLines>"
        b"<ContentItem><DataContent><body><body.head><hedline><hl1>Harbour reopens</hl1>"
        b"</hedline><byline>By A. Writer</byline></body.head><body.content><p>Ships sail.</p>"
        b"</body.content></body></DataContent></ContentItem></NewsComponent></NewsItem></NewsML>"
    )
    [draft] = parse_newsml12(parse_xml(payload), "UTC")
    story = build_article(draft)
    assert story.body_html == "<p>Ships sail.</p>"
    assert story.byline == "By A. Writer"
