"""File formats for import and export: reading, column mapping, validation, writing.

No database here: the import/export commands combine these with the store.
"""

from commands.fileformats.export import export_columns, record_row
from commands.fileformats.mapping import (
    ALIASES,
    FIELDS,
    KINDS,
    Kind,
    Mapping,
    Override,
    auto_map,
    parse_overrides,
)
from commands.fileformats.reading import (
    Cell,
    TableReader,
    needs_neutralising,
    neutralise,
    open_table,
    unneutralise,
)
from commands.fileformats.validation import (
    CustomerRecord,
    InvoiceRecord,
    PaymentRecord,
    Record,
    RowError,
    validate_rows,
)
from commands.fileformats.values import currency_exponent, parse_amount, parse_date
from commands.fileformats.writing import (
    COLUMN_TYPES,
    ChartSpec,
    ColumnType,
    add_bar_chart,
    write_table,
)

__all__ = [
    "ALIASES",
    "COLUMN_TYPES",
    "FIELDS",
    "KINDS",
    "Cell",
    "ChartSpec",
    "ColumnType",
    "CustomerRecord",
    "InvoiceRecord",
    "Kind",
    "Mapping",
    "Override",
    "PaymentRecord",
    "Record",
    "RowError",
    "TableReader",
    "add_bar_chart",
    "auto_map",
    "currency_exponent",
    "export_columns",
    "needs_neutralising",
    "neutralise",
    "open_table",
    "parse_amount",
    "parse_date",
    "parse_overrides",
    "record_row",
    "unneutralise",
    "validate_rows",
    "write_table",
]
