"""Parsing and check digits on MRZ text, with the specimens of ICAO Doc 9303."""

from __future__ import annotations

import pytest

from kyc.documents import mrz

# ICAO 9303 part 4, appendix A (TD3 passport)
TD3 = [
    "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
    "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
]
# ICAO 9303 part 5, appendix A (TD1 card)
TD1 = [
    "I<UTOD231458907<<<<<<<<<<<<<<<",
    "7408122F1204159UTO<<<<<<<<<<<6",
    "ERIKSSON<<ANNA<MARIA<<<<<<<<<<",
]
# ICAO 9303 part 6, appendix A (TD2 card)
TD2 = [
    "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<",
    "D231458907UTO7408122F1204159<<<<<<<6",
]


@pytest.mark.parametrize(
    ("data", "digit"),
    [("L898902C3", "6"), ("740812", "2"), ("120415", "9"), ("ZE184226B<<<<<", "1"), ("<<<", "0")],
)
def test_check_digit_of_the_specimen_fields(data, digit):
    assert mrz.check_digit(data) == digit


def test_td3_specimen_is_read_and_valid():
    reading = mrz.parse("\n".join(TD3))
    assert reading.valid
    assert reading.format == "TD3"
    assert reading.document_type == "P"
    assert reading.issuer == "UTO"
    assert reading.surname == "ERIKSSON"
    assert reading.given_names == "ANNA MARIA"
    assert reading.document_number == "L898902C3"
    assert reading.nationality == "UTO"
    assert reading.date_of_birth == "1974-08-12"
    assert reading.sex == "F"
    assert reading.expires_on == "2012-04-15"
    assert reading.optional_data == "ZE184226B"
    assert set(reading.checks) == {
        "document_number",
        "date_of_birth",
        "expires_on",
        "personal_number",
        "composite",
    }


def test_td1_specimen_is_read_and_valid():
    reading = mrz.parse(TD1)
    assert reading.valid
    assert (reading.format, reading.document_type, reading.document_number) == (
        "TD1",
        "I",
        "D23145890",
    )
    assert (reading.surname, reading.given_names) == ("ERIKSSON", "ANNA MARIA")
    assert (reading.date_of_birth, reading.expires_on, reading.nationality) == (
        "1974-08-12",
        "2012-04-15",
        "UTO",
    )


def test_td2_specimen_is_read_and_valid():
    reading = mrz.parse(TD2)
    assert reading.valid
    assert (reading.format, reading.document_number, reading.surname) == (
        "TD2",
        "D23145890",
        "ERIKSSON",
    )


def test_ocr_spacing_and_case_are_tolerated():
    reading = mrz.parse(["  " + TD3[0].lower() + " ", TD3[1][:20] + " " + TD3[1][20:]])
    assert reading.valid


@pytest.mark.parametrize(
    ("lines", "position", "failing"),
    [
        (
            TD3,
            (1, 19),
            {"date_of_birth", "composite"},
        ),  # the birth date's digit (part of composite)
        (TD3, (1, 9), {"document_number", "composite"}),
        (TD3, (1, 43), {"composite"}),
        (TD1, (1, 14), {"expires_on", "composite"}),
        (TD1, (1, 29), {"composite"}),
        (TD1, (0, 14), {"document_number", "composite"}),
    ],
)
def test_a_wrong_check_digit_is_caught(lines, position, failing):
    row, column = position
    broken = list(lines)
    old = broken[row][column]
    new = "0" if old != "0" else "1"
    broken[row] = broken[row][:column] + new + broken[row][column + 1 :]
    reading = mrz.parse(broken)
    assert not reading.valid
    assert set(reading.failed_checks) == failing


def test_a_changed_data_character_fails_its_check():
    # One digit of the birth date misread (8 -> 3): the data no longer matches its digit.
    broken = [TD3[0], TD3[1].replace("740812", "740312")]
    reading = mrz.parse(broken)
    assert reading.failed_checks == ["date_of_birth", "composite"]


def test_td1_long_document_number_runs_into_the_optional_field():
    # 9303 part 5: a number over 9 characters, the check digit position holding a filler.
    number = "D23145890123"
    digit = mrz.check_digit(number)
    line1 = f"I<UTO{number[:9]}<{number[9:]}{digit}".ljust(30, "<")
    line2_head = "7408122F1204159UTO<<<<<<<<<<<"
    composite = mrz.check_digit(
        line1[5:30] + line2_head[0:7] + line2_head[8:15] + line2_head[18:29]
    )
    reading = mrz.parse([line1, line2_head + composite, TD1[2]])
    assert reading.document_number == number
    assert reading.checks["document_number"]
    assert reading.valid


def test_text_that_is_no_mrz_is_refused():
    with pytest.raises(mrz.MrzError, match="line lengths"):
        mrz.parse("PASSPORT\nUTOPIA")


def test_birth_dates_are_in_the_past_and_expiry_dates_in_this_century():
    reading = mrz.parse(TD3)
    assert reading.date_of_birth.startswith("1974")
    assert reading.expires_on.startswith("2012")


def test_profile_that_agrees_has_no_mismatch():
    reading = mrz.parse(TD3)
    assert mrz.mismatches(reading, first_name="Anna", last_name="Eriksson", country="") == []
    assert mrz.mismatches(reading, first_name="Anna Maria", last_name="ERIKSSON", country="") == []


def test_accents_and_umlauts_are_compared_as_the_mrz_writes_them():
    lines = [
        "P<D<<MUELLER<<JOSE<<<<<<<<<<<<<<<<<<<<<<<<<<",
        TD3[1].replace("UTO", "D<<"),
    ]
    reading = mrz.parse(lines)
    assert mrz.mismatches(reading, first_name="José", last_name="Müller", country="DE") == []


def test_disagreements_are_listed_by_field():
    reading = mrz.parse(TD3)
    found = mrz.mismatches(reading, first_name="Annabel", last_name="Eriksen", country="DE")
    assert found == [
        {"field": "last_name", "typed": "Eriksen", "document": "ERIKSSON"},
        {"field": "first_name", "typed": "Annabel", "document": "ANNA MARIA"},
        {"field": "country", "typed": "DE", "document": "UTO"},
    ]


def test_icao_and_iso_country_codes():
    assert mrz.country_alpha2("DEU") == "DE"
    assert mrz.country_alpha2("D<<") == "DE"
    assert mrz.country_alpha2("GBR") == "GB"
    assert mrz.country_alpha2("UTO") is None
