"""Fake but realistic buyers and addresses per country: the quasi-PII and PII that privacy tests look for.

Every value is invented; none belongs to a real person. Cities and postal-code shapes are real so that
PII detectors and masking rules are exercised on plausible data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .rng import digits

# country -> [(city, state/region, postal-code pattern)], pattern: '#' digit, 'A' letter, others literal.
_PLACES: dict[str, list[tuple[str, str, str]]] = {
    "US": [
        ("Seattle", "WA", "981##"),
        ("Austin", "TX", "787##"),
        ("Brooklyn", "NY", "112##"),
        ("Chicago", "IL", "606##"),
        ("Denver", "CO", "802##"),
        ("Miami", "FL", "331##"),
        ("Portland", "OR", "972##"),
        ("San Jose", "CA", "951##"),
        ("Columbus", "OH", "432##"),
        ("Atlanta", "GA", "303##"),
        ("Phoenix", "AZ", "850##"),
        ("Boston", "MA", "021##"),
    ],
    "CA": [
        ("Toronto", "ON", "M#A #A#"),
        ("Vancouver", "BC", "V#A #A#"),
        ("Montréal", "QC", "H#A #A#"),
        ("Calgary", "AB", "T#A #A#"),
    ],
    "MX": [
        ("Ciudad de México", "CDMX", "0####"),
        ("Guadalajara", "JAL", "44###"),
        ("Monterrey", "NL", "64###"),
        ("Puebla", "PUE", "72###"),
    ],
    "BR": [
        ("São Paulo", "SP", "0####-###"),
        ("Rio de Janeiro", "RJ", "2####-###"),
        ("Belo Horizonte", "MG", "3####-###"),
        ("Curitiba", "PR", "8####-###"),
        ("Porto Alegre", "RS", "9####-###"),
    ],
    "GB": [
        ("London", "Greater London", "SW# #AA"),
        ("Manchester", "Greater Manchester", "M# #AA"),
        ("Leeds", "West Yorkshire", "LS# #AA"),
        ("Bristol", "Bristol", "BS# #AA"),
        ("Edinburgh", "Midlothian", "EH# #AA"),
    ],
    "DE": [
        ("München", "Bayern", "80###"),
        ("Köln", "Nordrhein-Westfalen", "50###"),
        ("Berlin", "Berlin", "10###"),
        ("Hamburg", "Hamburg", "20###"),
        ("Düsseldorf", "Nordrhein-Westfalen", "40###"),
        ("Nürnberg", "Bayern", "90###"),
    ],
    "FR": [
        ("Paris", "Île-de-France", "750##"),
        ("Lyon", "Auvergne-Rhône-Alpes", "6900#"),
        ("Marseille", "Provence-Alpes-Côte d'Azur", "130##"),
        ("Nîmes", "Occitanie", "300##"),
    ],
    "IT": [
        ("Milano", "MI", "201##"),
        ("Roma", "RM", "001##"),
        ("Torino", "TO", "101##"),
        ("Napoli", "NA", "801##"),
    ],
    "ES": [
        ("Madrid", "Madrid", "280##"),
        ("Barcelona", "Barcelona", "080##"),
        ("Málaga", "Málaga", "290##"),
        ("Sevilla", "Sevilla", "410##"),
    ],
    "JP": [
        ("Shibuya-ku", "Tokyo", "150-####"),
        ("Osaka-shi", "Osaka", "530-####"),
        ("Yokohama-shi", "Kanagawa", "220-####"),
        ("Sapporo-shi", "Hokkaido", "060-####"),
    ],
}

_FIRST = [
    "Maria",
    "James",
    "Anna",
    "Lukas",
    "Sofia",
    "Noah",
    "Emma",
    "Mateo",
    "Chloé",
    "João",
    "Yuki",
    "Olivia",
    "Liam",
    "Hannah",
    "Giulia",
    "Lucía",
    "Björn",
    "Amélie",
    "Aiko",
    "Daniel",
]
_LAST = [
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Martin",
    "Silva",
    "Tanaka",
    "Johnson",
    "Schmidt",
    "Fernández",
    "Dubois",
    "Costa",
    "Brown",
    "Weber",
    "Moreau",
    "Sato",
    "Williams",
    "Pérez",
]
_STREETS = [
    "Main St",
    "Oak Avenue",
    "Hauptstraße",
    "Rue de la Paix",
    "Via Roma",
    "Calle Mayor",
    "Rua Augusta",
    "High Street",
    "Maple Drive",
    "Bahnhofstraße",
    "Chuo-dori",
    "Elm Street",
]
_CARRIERS = {
    "US": ["UPS", "USPS", "AMZN_US"],
    "CA": ["Canada Post", "AMZN_CA"],
    "MX": ["Estafeta", "AMZN_MX"],
    "BR": ["Correios", "AMZN_BR"],
    "GB": ["Royal Mail", "DPD", "AMZN_UK"],
    "DE": ["DHL", "Hermes"],
    "FR": ["Colissimo", "Chronopost"],
    "IT": ["BRT", "Poste Italiane"],
    "ES": ["SEUR", "Correos"],
    "JP": ["Yamato", "Japan Post"],
}


@dataclass(frozen=True)
class Address:
    city: str
    state: str
    postal_code: str
    country: str
    line1: str


@dataclass(frozen=True)
class Buyer:
    name: str
    email: str
    phone: str
    address: Address
    cpf: str  # Brazilian tax id, only for BR buyers (empty elsewhere)


def _fill(rng: random.Random, pattern: str) -> str:
    out = []
    for ch in pattern:
        if ch == "#":
            out.append(rng.choice("0123456789"))
        elif ch == "A":
            out.append(rng.choice("ABCEGHJKLMNPRSTVWXYZ"))
        else:
            out.append(ch)
    return "".join(out)


def cpf(rng: random.Random) -> str:
    """A syntactically valid CPF (11 digits with both check digits), formatted ###.###.###-##."""
    base = [int(d) for d in digits(rng, 9)]
    for length in (9, 10):
        total = sum(v * (length + 1 - i) for i, v in enumerate(base[:length]))
        check = (total * 10) % 11
        base.append(0 if check == 10 else check)
    s = "".join(map(str, base))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def buyer(rng: random.Random, country: str) -> Buyer:
    city, state, pattern = rng.choice(_PLACES[country])
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    address = Address(
        city=city,
        state=state,
        postal_code=_fill(rng, pattern),
        country=country,
        line1=f"{rng.randint(1, 480)} {rng.choice(_STREETS)}",
    )
    handle = rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") + digits(rng, 1) + _fill(rng, "AAAAAAAAAAAA")
    return Buyer(
        name=f"{first} {last}",
        email=f"{handle.lower()}@marketplace.amazon.{country.lower()}",
        phone="+" + digits(rng, 11),
        address=address,
        cpf=cpf(rng) if country == "BR" else "",
    )


def carrier(rng: random.Random, country: str) -> str:
    return rng.choice(_CARRIERS[country])


_UNITS = ("Apt {n}", "Suite {n}", "Unit {n}", "Wohnung {n}", "Bât. {n}", "Piso {n}", "Floor {n}")
_COMPANIES = ("c/o Brightline GmbH", "Attn: Receiving", "c/o Nordic Trade Ltd", "Building B")


@dataclass(frozen=True)
class Delivery:
    """The rest of an AFN shipment's buyer PII: recipient, full ship-to and bill-to addresses, phones."""

    recipient_name: str
    ship_address: tuple[str, str, str]  # ship-address-1..3
    ship_phone: str
    bill_address: tuple[str, str, str]  # bill-address-1..3
    bill_city: str
    bill_state: str
    bill_postal_code: str
    bill_country: str


def delivery(rng: random.Random, buyer: Buyer) -> Delivery:
    """Drawn from its own stream (keyed by the order), so the orders' streams stay exactly as they were."""
    addr = buyer.address
    recipient = buyer.name
    if rng.random() < 0.15:  # a gift or a delivery to someone else
        recipient = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    line2 = rng.choice(_UNITS).format(n=rng.randint(1, 60)) if rng.random() < 0.35 else ""
    line3 = rng.choice(_COMPANIES) if line2 and rng.random() < 0.2 else ""
    ship = (addr.line1, line2, line3)
    phone = buyer.phone if rng.random() < 0.7 else "+" + digits(rng, 11)
    if rng.random() < 0.8:  # billed where it ships
        return Delivery(recipient, ship, phone, ship, addr.city, addr.state, addr.postal_code, addr.country)
    city, state, pattern = rng.choice(_PLACES[addr.country])
    bill = (f"{rng.randint(1, 480)} {rng.choice(_STREETS)}", "", "")
    return Delivery(recipient, ship, phone, bill, city, state, _fill(rng, pattern), addr.country)
