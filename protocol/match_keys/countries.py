"""Country codes: ISO 3166-1 alpha-2 to alpha-3, and ITU-T E.164 country calling codes.

Decisions:

- Keys carry alpha-3 codes, the form printed in the machine-readable zone of travel documents
  (ICAO Doc 9303 Part 3 §5 uses alpha-3 codes, with a few additions such as `D` for Germany and
  the `XXA`/`XXB`/`XXC`/`XXX` codes for stateless persons, refugees and unspecified nationality).
  Alpha-2 input is converted with the table below; alpha-3 input is kept as given when it is
  three Latin letters, because ICAO and national systems use codes outside ISO 3166 (for example
  `XPO` and `UNO` for documents of international organisations) and refusing them would lose
  real records.
- The table covers every member state of the United Nations and the territories most often seen
  in police data. An alpha-2 code outside the table is refused rather than guessed.
- Calling codes serve one purpose: completing a national phone number into E.164 when a record
  gives a country but no `+`. Several countries share +1 (the North American Numbering Plan) and
  +7 (Russia and Kazakhstan); that is correct for E.164 and harmless here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType

from crypto.errors import InputError

__all__ = ["calling_code", "normalise_country", "trunk_prefix"]

# Each entry: alpha-2 -> (alpha-3, E.164 country calling code without "+").
_COUNTRIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "AD": ("AND", "376"), "AE": ("ARE", "971"), "AF": ("AFG", "93"), "AG": ("ATG", "1"),
        "AI": ("AIA", "1"), "AL": ("ALB", "355"), "AM": ("ARM", "374"), "AO": ("AGO", "244"),
        "AR": ("ARG", "54"), "AS": ("ASM", "1"), "AT": ("AUT", "43"), "AU": ("AUS", "61"),
        "AW": ("ABW", "297"), "AX": ("ALA", "358"), "AZ": ("AZE", "994"), "BA": ("BIH", "387"),
        "BB": ("BRB", "1"), "BD": ("BGD", "880"), "BE": ("BEL", "32"), "BF": ("BFA", "226"),
        "BG": ("BGR", "359"), "BH": ("BHR", "973"), "BI": ("BDI", "257"), "BJ": ("BEN", "229"),
        "BM": ("BMU", "1"), "BN": ("BRN", "673"), "BO": ("BOL", "591"), "BR": ("BRA", "55"),
        "BS": ("BHS", "1"), "BT": ("BTN", "975"), "BW": ("BWA", "267"), "BY": ("BLR", "375"),
        "BZ": ("BLZ", "501"), "CA": ("CAN", "1"), "CD": ("COD", "243"), "CF": ("CAF", "236"),
        "CG": ("COG", "242"), "CH": ("CHE", "41"), "CI": ("CIV", "225"), "CK": ("COK", "682"),
        "CL": ("CHL", "56"), "CM": ("CMR", "237"), "CN": ("CHN", "86"), "CO": ("COL", "57"),
        "CR": ("CRI", "506"), "CU": ("CUB", "53"), "CV": ("CPV", "238"), "CW": ("CUW", "599"),
        "CY": ("CYP", "357"), "CZ": ("CZE", "420"), "DE": ("DEU", "49"), "DJ": ("DJI", "253"),
        "DK": ("DNK", "45"), "DM": ("DMA", "1"), "DO": ("DOM", "1"), "DZ": ("DZA", "213"),
        "EC": ("ECU", "593"), "EE": ("EST", "372"), "EG": ("EGY", "20"), "ER": ("ERI", "291"),
        "ES": ("ESP", "34"), "ET": ("ETH", "251"), "FI": ("FIN", "358"), "FJ": ("FJI", "679"),
        "FM": ("FSM", "691"), "FO": ("FRO", "298"), "FR": ("FRA", "33"), "GA": ("GAB", "241"),
        "GB": ("GBR", "44"), "GD": ("GRD", "1"), "GE": ("GEO", "995"), "GF": ("GUF", "594"),
        "GG": ("GGY", "44"), "GH": ("GHA", "233"), "GI": ("GIB", "350"), "GL": ("GRL", "299"),
        "GM": ("GMB", "220"), "GN": ("GIN", "224"), "GP": ("GLP", "590"), "GQ": ("GNQ", "240"),
        "GR": ("GRC", "30"), "GT": ("GTM", "502"), "GU": ("GUM", "1"), "GW": ("GNB", "245"),
        "GY": ("GUY", "592"), "HK": ("HKG", "852"), "HN": ("HND", "504"), "HR": ("HRV", "385"),
        "HT": ("HTI", "509"), "HU": ("HUN", "36"), "ID": ("IDN", "62"), "IE": ("IRL", "353"),
        "IL": ("ISR", "972"), "IM": ("IMN", "44"), "IN": ("IND", "91"), "IQ": ("IRQ", "964"),
        "IR": ("IRN", "98"), "IS": ("ISL", "354"), "IT": ("ITA", "39"), "JE": ("JEY", "44"),
        "JM": ("JAM", "1"), "JO": ("JOR", "962"), "JP": ("JPN", "81"), "KE": ("KEN", "254"),
        "KG": ("KGZ", "996"), "KH": ("KHM", "855"), "KI": ("KIR", "686"), "KM": ("COM", "269"),
        "KN": ("KNA", "1"), "KP": ("PRK", "850"), "KR": ("KOR", "82"), "KW": ("KWT", "965"),
        "KY": ("CYM", "1"), "KZ": ("KAZ", "7"), "LA": ("LAO", "856"), "LB": ("LBN", "961"),
        "LC": ("LCA", "1"), "LI": ("LIE", "423"), "LK": ("LKA", "94"), "LR": ("LBR", "231"),
        "LS": ("LSO", "266"), "LT": ("LTU", "370"), "LU": ("LUX", "352"), "LV": ("LVA", "371"),
        "LY": ("LBY", "218"), "MA": ("MAR", "212"), "MC": ("MCO", "377"), "MD": ("MDA", "373"),
        "ME": ("MNE", "382"), "MG": ("MDG", "261"), "MH": ("MHL", "692"), "MK": ("MKD", "389"),
        "ML": ("MLI", "223"), "MM": ("MMR", "95"), "MN": ("MNG", "976"), "MO": ("MAC", "853"),
        "MQ": ("MTQ", "596"), "MR": ("MRT", "222"), "MS": ("MSR", "1"), "MT": ("MLT", "356"),
        "MU": ("MUS", "230"), "MV": ("MDV", "960"), "MW": ("MWI", "265"), "MX": ("MEX", "52"),
        "MY": ("MYS", "60"), "MZ": ("MOZ", "258"), "NA": ("NAM", "264"), "NC": ("NCL", "687"),
        "NE": ("NER", "227"), "NG": ("NGA", "234"), "NI": ("NIC", "505"), "NL": ("NLD", "31"),
        "NO": ("NOR", "47"), "NP": ("NPL", "977"), "NR": ("NRU", "674"), "NU": ("NIU", "683"),
        "NZ": ("NZL", "64"), "OM": ("OMN", "968"), "PA": ("PAN", "507"), "PE": ("PER", "51"),
        "PF": ("PYF", "689"), "PG": ("PNG", "675"), "PH": ("PHL", "63"), "PK": ("PAK", "92"),
        "PL": ("POL", "48"), "PR": ("PRI", "1"), "PS": ("PSE", "970"), "PT": ("PRT", "351"),
        "PW": ("PLW", "680"), "PY": ("PRY", "595"), "QA": ("QAT", "974"), "RE": ("REU", "262"),
        "RO": ("ROU", "40"), "RS": ("SRB", "381"), "RU": ("RUS", "7"), "RW": ("RWA", "250"),
        "SA": ("SAU", "966"), "SB": ("SLB", "677"), "SC": ("SYC", "248"), "SD": ("SDN", "249"),
        "SE": ("SWE", "46"), "SG": ("SGP", "65"), "SI": ("SVN", "386"), "SK": ("SVK", "421"),
        "SL": ("SLE", "232"), "SM": ("SMR", "378"), "SN": ("SEN", "221"), "SO": ("SOM", "252"),
        "SR": ("SUR", "597"), "SS": ("SSD", "211"), "ST": ("STP", "239"), "SV": ("SLV", "503"),
        "SY": ("SYR", "963"), "SZ": ("SWZ", "268"), "TC": ("TCA", "1"), "TD": ("TCD", "235"),
        "TG": ("TGO", "228"), "TH": ("THA", "66"), "TJ": ("TJK", "992"), "TL": ("TLS", "670"),
        "TM": ("TKM", "993"), "TN": ("TUN", "216"), "TO": ("TON", "676"), "TR": ("TUR", "90"),
        "TT": ("TTO", "1"), "TV": ("TUV", "688"), "TW": ("TWN", "886"), "TZ": ("TZA", "255"),
        "UA": ("UKR", "380"), "UG": ("UGA", "256"), "US": ("USA", "1"), "UY": ("URY", "598"),
        "UZ": ("UZB", "998"), "VA": ("VAT", "39"), "VC": ("VCT", "1"), "VE": ("VEN", "58"),
        "VG": ("VGB", "1"), "VI": ("VIR", "1"), "VN": ("VNM", "84"), "VU": ("VUT", "678"),
        "WS": ("WSM", "685"), "YE": ("YEM", "967"), "YT": ("MYT", "262"), "ZA": ("ZAF", "27"),
        "ZM": ("ZMB", "260"), "ZW": ("ZWE", "263"),
    }
)  # fmt: skip

_CALLING_BY_ALPHA3: Mapping[str, str] = MappingProxyType(dict(_COUNTRIES.values()))

# ICAO Doc 9303 Part 3 §5 writes Germany as "D" (padded "D<<" in the machine-readable zone).
_ICAO_SPECIAL: Mapping[str, str] = MappingProxyType({"D": "DEU"})

# National trunk prefixes that differ from the common "0". Italy, San Marino and the Vatican keep
# the leading 0 inside the international number, so nothing is stripped there; the North American
# Numbering Plan dials "1"; Russia, Kazakhstan and Belarus dial "8"; Hungary dials "06".
_TRUNK_PREFIX: Mapping[str, str] = MappingProxyType(
    {
        "ITA": "", "SMR": "", "VAT": "",
        "RUS": "8", "KAZ": "8", "BLR": "8", "HUN": "06",
        **{alpha3: "1" for alpha3, code in _COUNTRIES.values() if code == "1"},
    }
)  # fmt: skip

_ALPHA3 = re.compile(r"[A-Z]{3}")


def normalise_country(text: str, field: str) -> str:
    """Return the alpha-3 code for an alpha-2 or alpha-3 country code (case-insensitive).

    Raises `InputError` naming `field` for anything that is not a known alpha-2 code, the ICAO
    code `D`, or three Latin letters.
    """
    code = text.strip().upper().rstrip("<")
    if code in _ICAO_SPECIAL:
        return _ICAO_SPECIAL[code]
    if len(code) == 2:
        if code in _COUNTRIES:
            return _COUNTRIES[code][0]
        raise InputError(f"{field}: unknown ISO 3166 alpha-2 country code {code!r}")
    if _ALPHA3.fullmatch(code):
        return code
    raise InputError(f"{field}: expected an ISO 3166 alpha-2 or alpha-3 country code, got {text!r}")


def calling_code(alpha3: str) -> str | None:
    """Return the E.164 country calling code of a country, or None when it is not in the table."""
    return _CALLING_BY_ALPHA3.get(alpha3)


def trunk_prefix(alpha3: str) -> str:
    """Return the national trunk prefix dialled before national numbers ("" when none is used)."""
    return _TRUNK_PREFIX.get(alpha3, "0")
