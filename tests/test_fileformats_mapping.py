"""Automatic column mapping (common spellings, tool exports) and --map overrides."""

from __future__ import annotations

import pytest

from commands.errors import UserError
from commands.fileformats import auto_map, parse_overrides
from commands.fileformats.mapping import ALIASES, FIELDS, KINDS, normalise_header


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("E-mail", "email"),
        ("Email Address", "email"),
        ("EMAIL", "email"),
        ("Customer Name", "name"),
        ("Company Name", "company"),
        ("Organization", "company"),
        ("Phone Number", "phone"),
        ("Tags", "tags"),
        ("Created", "created_at"),
        ("Terms", "payment_terms_days"),
        ("payment_terms_days", "payment_terms_days"),
        ("Status", "status"),
    ],
)
def test_common_spellings(header: str, field: str) -> None:
    m = auto_map("customers", [header])
    assert m.columns == {header: field}
    assert m.unknown_columns == []


def test_stripe_customers_export() -> None:
    headers = ["id", "Description", "Email", "Name", "Created (UTC)", "Phone", "Delinquent"]
    m = auto_map("customers", headers)
    assert m.columns == {
        "Email": "email", "Name": "name", "Created (UTC)": "created_at", "Phone": "phone",
    }  # fmt: skip
    assert m.unknown_columns == ["id", "Description", "Delinquent"]


def test_xero_contacts_export() -> None:
    headers = [
        "*ContactName", "AccountNumber", "EmailAddress", "FirstName", "LastName",
        "POAddressLine1", "POCity", "POPostalCode", "POCountry", "PhoneNumber",
    ]  # fmt: skip
    m = auto_map("customers", headers)
    assert m.fields["name"] == ["*ContactName"]  # the contact name beats first + last
    assert m.fields["email"] == ["EmailAddress"]
    assert m.fields["phone"] == ["PhoneNumber"]
    assert m.fields["address"] == ["POAddressLine1", "POCity", "POPostalCode", "POCountry"]
    assert m.unknown_columns == ["AccountNumber", "FirstName", "LastName"]


def test_quickbooks_customers_export() -> None:
    headers = ["Customer", "Company", "Street Address", "City", "State", "Zip", "Phone",
               "Email", "Open Balance", "Notes"]  # fmt: skip
    m = auto_map("customers", headers)
    assert m.fields["name"] == ["Customer"]
    assert m.fields["company"] == ["Company"]
    assert m.fields["address"] == ["Street Address", "City", "State", "Zip"]
    assert m.fields["email"] == ["Email"] and m.fields["phone"] == ["Phone"]
    assert m.unknown_columns == ["Open Balance", "Notes"]


def test_invoice_ninja_clients_export() -> None:
    headers = ["Client Name", "Contact First Name", "Contact Last Name", "Contact Email",
               "Contact Phone", "Client Address1", "Client City", "Client Country"]  # fmt: skip
    m = auto_map("customers", headers)
    assert m.fields["name"] == ["Client Name"]
    assert m.fields["email"] == ["Contact Email"]
    assert m.fields["phone"] == ["Contact Phone"]
    assert m.fields["address"] == ["Client Address1", "Client City", "Client Country"]
    assert m.unknown_columns == ["Contact First Name", "Contact Last Name"]


def test_hubspot_first_and_last_name_combine_into_name() -> None:
    headers = ["Record ID", "Last Name", "First Name", "Email", "Company Name", "Create Date"]
    m = auto_map("customers", headers)
    assert m.fields["name"] == ["First Name", "Last Name"]  # part order, not file order
    assert m.fields["company"] == ["Company Name"]
    assert m.fields["created_at"] == ["Create Date"]
    assert m.unknown_columns == ["Record ID"]


def test_european_spreadsheet_headers() -> None:
    """German, French, Spanish and Dutch headers, accents or not, map like English ones."""
    de = auto_map("customers", ["Vorname", "Nachname", "E-Mail-Adresse", "Firma", "Telefon",
                                "Straße", "PLZ", "Ort", "Zahlungsziel", "Branche"])  # fmt: skip
    assert de.fields == {
        "name": ["Vorname", "Nachname"], "email": ["E-Mail-Adresse"], "company": ["Firma"],
        "phone": ["Telefon"], "address": ["Straße", "Ort", "PLZ"],
        "payment_terms_days": ["Zahlungsziel"],
    }  # fmt: skip
    assert de.unknown_columns == ["Branche"]
    fr = auto_map("customers", ["Nom", "Courriel", "Societe", "Téléphone"])
    assert fr.columns == {"Nom": "name", "Courriel": "email", "Societe": "company",
                          "Téléphone": "phone"}  # fmt: skip
    es = auto_map("invoices", ["Número de factura", "Correo electrónico", "Fecha de factura",
                               "Fecha de vencimiento", "Importe", "Moneda"])  # fmt: skip
    assert es.missing_required() == []
    assert es.fields["due_on"] == ["Fecha de vencimiento"]
    nl = auto_map("payments", ["Factuurnummer", "Betaaldatum", "Bedrag", "Betaalmethode"])
    assert set(nl.columns.values()) == set(FIELDS["payments"])
    assert normalise_header("FÄLLIG AM") == normalise_header("fallig am") == "falligam"


def test_an_address_column_takes_the_city_postal_code_and_country_after_it() -> None:
    m = auto_map("customers", ["Name", "Address", "Address Line 2", "Country", "City", "Zip"])
    assert m.fields["address"] == ["Address", "City", "Zip", "Country"]
    assert m.unknown_columns == ["Address Line 2"]  # a street part beside the whole street


def test_invoices_and_payments_headers() -> None:
    m = auto_map("invoices", ["Invoice Number", "Customer Email", "Invoice Date", "Due Date",
                              "Total", "Currency", "Status"])  # fmt: skip
    assert set(m.columns.values()) == set(FIELDS["invoices"])
    p = auto_map("payments", ["Invoice #", "Payment Date", "Amount Paid", "Payment Method"])
    assert set(p.columns.values()) == set(FIELDS["payments"])
    assert m.missing_required() == [] and p.missing_required() == []
    assert auto_map("invoices", ["Total"]).missing_required() == [
        "number", "customer_email", "issued_on",
    ]  # fmt: skip


def test_custom_columns_and_second_column_for_a_field() -> None:
    m = auto_map("customers", ["Email", "custom:Region", "E-mail"])
    assert m.columns == {"Email": "email", "custom:Region": "custom:Region"}
    assert m.unknown_columns == ["E-mail"]  # never silently dropped
    assert m.custom_fields == ["Region"]
    assert "E-mail -> (unknown, not imported)" in m.describe()


def test_overrides() -> None:
    m = auto_map("customers", ["Full Name", "Mail", "Kundennummer", "Notes"])
    ov = parse_overrides(["Kundennummer=custom:Number", "notes=", "Mail=email"], "customers")
    m2 = m.with_overrides(ov)
    assert m2.columns == {"Full Name": "name", "Mail": "email", "Kundennummer": "custom:Number"}
    assert m2.ignored_columns == ["Notes"]
    assert m2.unknown_columns == []
    # an override replaces what was detected; the replaced column becomes unknown
    m3 = auto_map("customers", ["Name", "Display"], parse_overrides(["Display=name"]))
    assert m3.fields == {"name": ["Display"]}
    assert m3.unknown_columns == ["Name"]
    # several overrides to one field combine (first + last name by hand)
    m4 = auto_map(
        "customers", ["Vorname", "Nachname"], parse_overrides(["Vorname=name", "Nachname=name"])
    )
    assert m4.fields == {"name": ["Vorname", "Nachname"]}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Email", "expected"),
        ("=email", "source column is empty"),
        ("Email=emial", "'emial' is not a customers field"),
        ("Email=custom:", "bad custom field name"),
    ],
)
def test_bad_override_syntax(text: str, message: str) -> None:
    with pytest.raises(UserError, match=message) as exc:
        parse_overrides([text], "customers")
    assert repr(text) in exc.value.message


def test_override_of_unknown_column_names_it() -> None:
    m = auto_map("customers", ["Name", "Email"])
    with pytest.raises(UserError, match="no column 'Emial'") as exc:
        m.with_overrides(parse_overrides(["Emial=email"]))
    assert exc.value.suggestions == ["Email"]


def test_alias_table_is_consistent() -> None:
    for kind in KINDS:
        assert set(ALIASES[kind]) <= set(FIELDS[kind])
        for fname in FIELDS[kind]:  # canonical names map to themselves
            assert auto_map(kind, [fname]).columns == {fname: fname}
    assert normalise_header("E-mail Address ") == "emailaddress"
