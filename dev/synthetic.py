"""Synthetic person records for demonstrations and benchmarks, in several scripts.

Every record is invented: names are drawn from short lists of common given and family names in
Latin, Arabic and Cyrillic script, dates of birth and passport numbers from a seeded generator,
so the same seed always gives the same dataset. Nothing here is real data.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

__all__ = ["synthetic_people"]

_LATIN_GIVEN = [
    "James", "Marie", "Carlos", "Lucía", "Pierre", "Ana", "John", "Sofía", "Jean", "Miguel",
    "Claire", "Diego", "Emma", "Javier", "Louise", "Mateo", "Olivia", "Pablo", "Chloé", "Hugo",
]  # fmt: skip
_LATIN_FAMILY = [
    "Smith", "Dubois", "García", "Martínez", "Lefèvre", "Fernández", "Brown", "Moreau",
    "López", "Taylor", "Girard", "Sánchez", "Wilson", "Fontaine", "Ramírez", "Evans",
    "de la Cruz", "Van der Berg", "O'Connor", "Núñez",
]  # fmt: skip
_ARABIC_GIVEN = [
    "محمد", "أحمد", "علي", "عمر", "يوسف", "خالد", "حسن", "إبراهيم", "فاطمة", "مريم",
    "عائشة", "سارة", "طارق", "سمير", "كريم", "ليلى",
]  # fmt: skip
_ARABIC_FAMILY = [
    "الحسيني", "بن علي", "العمري", "الخطيب", "حداد", "المصري", "الشامي", "بن يوسف",
    "الزهراني", "القاسم", "النجار", "السيد",
]  # fmt: skip
_CYRILLIC_GIVEN = [
    "Александр", "Дмитрий", "Сергей", "Ольга", "Наталья", "Иван", "Андрей", "Елена",
    "Михаил", "Татьяна",
]  # fmt: skip
_CYRILLIC_FAMILY = [
    "Иванов", "Петров", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов",
    "Новиков", "Морозов",
]  # fmt: skip
_SCRIPTS = [
    (_LATIN_GIVEN, _LATIN_FAMILY, ["FRA", "ESP", "GBR", "BEL", "ARG", "MEX", "CAN"]),
    (_ARABIC_GIVEN, _ARABIC_FAMILY, ["EGY", "JOR", "MAR", "SAU", "LBN", "IRQ", "TUN"]),
    (_CYRILLIC_GIVEN, _CYRILLIC_FAMILY, ["RUS", "UKR", "BLR", "KAZ", "SRB", "BGR"]),
]


def synthetic_people(count: int, seed: int = 2026, prefix: str = "P") -> Iterator[dict[str, Any]]:
    """Yield `count` invented person records as plain mappings, the shape an import produces."""
    rng = random.Random(seed)  # noqa: S311 (invented data, not secrets)
    for number in range(count):
        given_names, family_names, countries = rng.choice(_SCRIPTS)
        country = rng.choice(countries)
        year = rng.randint(1950, 2004)
        month = rng.randint(1, 12)
        day = rng.randint(1, 28)
        letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(2))
        yield {
            "id": f"{prefix}{number:07d}",
            "given_names": rng.choice(given_names),
            "family_name": rng.choice(family_names),
            "date_of_birth": f"{year:04d}-{month:02d}-{day:02d}",
            "nationality": country,
            "document_type": "passport",
            "document_number": f"{letters}{rng.randint(0, 10**7 - 1):07d}",
            "document_issuing_country": country,
        }
