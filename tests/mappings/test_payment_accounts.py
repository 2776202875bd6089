"""The account payments are pushed into: QuickBooks `deposit_account`, Xero
`payment_account_code`. Optional in the settings; asking for it when absent is a MappingError
naming the setting (so a payment push is refused with a reason the partner can act on)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings import quickbooks, xero
from mappings.base import MappingError

QBO = {"default_income_account": "79"}
XERO = {"default_account_code": "200"}

ids = st.one_of(
    st.integers(min_value=1, max_value=10**9),
    st.text(alphabet="0123456789ABCDEFXYZ", min_size=1, max_size=10),
)


@given(ids)
def test_quickbooks_deposit_account_round_trips(value: int | str) -> None:
    mapping = quickbooks.mapping_from_settings({**QBO, "deposit_account": value})
    assert mapping.payment_account() == str(value)
    # a bank account must not be checked as an income account by `connections check`
    assert "deposit_account" not in mapping.required_remote_names()


@given(ids)
def test_xero_payment_account_code_round_trips(value: int | str) -> None:
    mapping = xero.mapping_from_settings({**XERO, "payment_account_code": value})
    assert mapping.payment_account() == str(value)


def test_without_the_setting_invoices_still_map_but_payments_name_it() -> None:
    with pytest.raises(MappingError) as qbo:
        quickbooks.mapping_from_settings(QBO).payment_account()
    assert qbo.value.field == "deposit_account"
    with pytest.raises(MappingError) as xro:
        xero.mapping_from_settings(XERO).payment_account()
    assert xro.value.field == "payment_account_code"


@pytest.mark.parametrize("bad", [True, 1.5, "", " 35", {"a": 1}])
def test_bad_values_name_the_setting(bad: object) -> None:
    with pytest.raises(MappingError) as qbo:
        quickbooks.mapping_from_settings({**QBO, "deposit_account": bad})
    assert qbo.value.field == "deposit_account"
    with pytest.raises(MappingError) as xro:
        xero.mapping_from_settings({**XERO, "payment_account_code": bad})
    assert xro.value.field == "payment_account_code"
