import string
from decimal import Decimal

import pytest

from clients.platforms.base import (
    InvalidRequest,
    ProtocolError,
    Selector,
    balance_comment,
    comment_has_op_ref,
    generate_password,
    to_decimal,
    to_int,
)


@pytest.mark.parametrize("length", [8, 12, 16])
def test_generated_passwords_meet_mt5_rules(length: int) -> None:
    for _ in range(200):
        password = generate_password(length)
        assert len(password) == length
        assert any(c in string.ascii_lowercase for c in password)
        assert any(c in string.ascii_uppercase for c in password)
        assert any(c in string.digits for c in password)
        assert any(not c.isalnum() for c in password)
    assert generate_password() != generate_password()


@pytest.mark.parametrize("length", [7, 17])
def test_password_length_out_of_range_is_refused(length: int) -> None:
    with pytest.raises(ValueError, match="8 to 16"):
        generate_password(length)


def test_balance_comment_keeps_the_reference_within_31_chars() -> None:
    assert balance_comment("abc") == "CRM#abc"
    long = balance_comment("r" * 27, "this will be cut off")
    assert long == "CRM#" + "r" * 27 and len(long) == 31
    assert balance_comment("x1", "deposit by card") == "CRM#x1 deposit by card"
    with pytest.raises(InvalidRequest):
        balance_comment("r" * 28)
    with pytest.raises(InvalidRequest):
        balance_comment("has space")


def test_op_ref_match_is_a_whole_token() -> None:
    assert comment_has_op_ref("CRM#123 deposit", "123")
    assert comment_has_op_ref("CRM#123", "123")
    assert not comment_has_op_ref("CRM#1234", "123")
    assert not comment_has_op_ref("CRM#123-b", "123")
    assert not comment_has_op_ref("CRM123", "123")


def test_loose_scalar_parsing() -> None:
    assert to_decimal("26000.10") == Decimal("26000.10")
    assert to_decimal("") == Decimal(0)
    assert to_decimal(0.1) == Decimal("0.1")  # via repr, not binary expansion
    assert to_int("954402") == 954402
    assert to_int(" 7 ") == 7
    assert to_int("100.0") == 100
    with pytest.raises(ProtocolError):
        to_decimal("abc")
    with pytest.raises(ProtocolError):
        to_int("abc")


def test_selector_takes_one_kind() -> None:
    assert Selector.coerce([1, 2]).logins == (1, 2)
    assert Selector.coerce(5).logins == (5,)
    assert Selector.coerce("demo*").group == "demo*"
    with pytest.raises(ValueError):
        Selector(logins=(1,), group="demo*")
    with pytest.raises(ValueError):
        Selector()
