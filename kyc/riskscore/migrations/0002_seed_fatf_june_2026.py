"""The country-risk version in force when this module shipped: FATF June 2026 and the EU list
as amended on 29 January 2026. Later versions are loaded with `manage.py country_risk_load`,
never by editing this one."""

from datetime import date

from django.db import migrations

NAME = "FATF June 2026"
EFFECTIVE = date(2026, 6, 19)

# FATF "High-Risk Jurisdictions subject to a Call for Action", June 2026 (unchanged).
PROHIBITED = ["KP", "IR", "MM"]

# FATF "Jurisdictions under Increased Monitoring", June 2026: the October 2025 list, plus
# Kuwait and Papua New Guinea (February 2026), plus Bosnia and Herzegovina and Iraq (June
# 2026), less Algeria and Namibia (June 2026).
FATF_GREY = [
    "AO",  # Angola
    "BA",  # Bosnia and Herzegovina (added June 2026)
    "BG",  # Bulgaria
    "BO",  # Bolivia
    "CD",  # Democratic Republic of the Congo
    "CI",  # Côte d'Ivoire
    "CM",  # Cameroon
    "HT",  # Haiti
    "IQ",  # Iraq (added June 2026)
    "KE",  # Kenya
    "KW",  # Kuwait (added February 2026)
    "LA",  # Lao PDR
    "LB",  # Lebanon
    "MC",  # Monaco
    "NP",  # Nepal
    "PG",  # Papua New Guinea (added February 2026)
    "SS",  # South Sudan
    "SY",  # Syria
    "VE",  # Venezuela
    "VG",  # Virgin Islands (UK)
    "VN",  # Vietnam
    "YE",  # Yemen
]

# Annex to Delegated Regulation (EU) 2016/1675 as amended by Delegated Regulations (EU)
# 2025/1184, 2026/46 (Russia) and 2026/83, in force from 29 January 2026: 26 countries.
EU_HIGH_RISK = [
    "AF",  # Afghanistan
    "AO",  # Angola
    "BO",  # Bolivia
    "CD",  # Democratic Republic of the Congo
    "CI",  # Côte d'Ivoire
    "CM",  # Cameroon
    "DZ",  # Algeria
    "HT",  # Haiti
    "IR",  # Iran
    "KE",  # Kenya
    "KP",  # DPRK
    "LA",  # Lao PDR
    "LB",  # Lebanon
    "MC",  # Monaco
    "MM",  # Myanmar
    "NA",  # Namibia
    "NP",  # Nepal
    "RU",  # Russian Federation (point IV: FATF membership suspended)
    "SS",  # South Sudan
    "SY",  # Syria
    "TT",  # Trinidad and Tobago
    "VE",  # Venezuela
    "VG",  # Virgin Islands (UK)
    "VN",  # Vietnam
    "VU",  # Vanuatu
    "YE",  # Yemen
]

POINTS = {"prohibited": 100, "fatf_grey": 30, "eu_high_risk": 30}

NOTES = """\
FATF public statements after the plenary of 17-19 June 2026: call for action unchanged (DPRK,
Iran, Myanmar); increased monitoring: Bosnia and Herzegovina and Iraq added, Algeria and
Namibia removed (e.g. Labuan FSA, "FATF Publication on Global ML/TF/PF Risk - June 2026").
The rest of the grey list follows the October 2025 list and the February 2026 additions
(Kuwait, Papua New Guinea).
EU: Annex to Delegated Regulation (EU) 2016/1675 as amended, latest by Delegated Regulations
(EU) 2026/46 and 2026/83 (OJ 9 January 2026, in force 29 January 2026): Bolivia, Virgin
Islands (UK) and Russia added; Burkina Faso, Mali, Mozambique, Nigeria, South Africa and
Tanzania removed. The EU had not yet followed FATF's 2026 grey-list changes, so Algeria and
Namibia are still on it while Kuwait, Papua New Guinea, Bosnia and Herzegovina and Iraq are not.
"""


def seed(apps, schema_editor):
    Version = apps.get_model("kyc_risk", "CountryRiskVersion")
    Entry = apps.get_model("kyc_risk", "CountryRiskEntry")
    if Version.objects.filter(name=NAME).exists():
        return
    Version.objects.filter(is_active=True).update(is_active=False)
    version = Version.objects.create(
        name=NAME, effective_date=EFFECTIVE, source_notes=NOTES, is_active=True
    )
    rows = (
        [(c, "prohibited") for c in PROHIBITED]
        + [(c, "fatf_grey") for c in FATF_GREY]
        + [(c, "eu_high_risk") for c in EU_HIGH_RISK]
    )
    Entry.objects.bulk_create(
        Entry(version=version, country=c, category=cat, points=POINTS[cat]) for c, cat in rows
    )


def unseed(apps, schema_editor):
    Version = apps.get_model("kyc_risk", "CountryRiskVersion")
    Version.objects.filter(name=NAME, assessments__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("kyc_risk", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
