"""Partner configuration files (TOML): schema, loader and validator.

`load_partner_file(path)` returns a validated `PartnerFile` or raises one `PartnerFileError`
whose `problems` list everything wrong, each at the key path the partner wrote
(`clients.dental-co.prices.voice_minutes.tiers[1].up_to: must be greater than tiers[0].up_to`).
Prices inside the file are the shared price models of `config.prices`, plus an `effective_from`.
"""

from config.partner_file.document import PartnerFile
from config.partner_file.fields import ISO_4217_CODES
from config.partner_file.loader import (
    check_partner_data,
    load_partner_file,
    parse_partner_toml,
    validate_partner_data,
)
from config.partner_file.problems import (
    ConfigProblem,
    PartnerFileError,
    problems_from_validation_error,
)
from config.partner_file.schema import (
    CLIENT_STATUSES,
    PROVIDERS,
    AddressSpec,
    BrandingSpec,
    ClientSpec,
    ConnectionSpec,
    GraduatedEntry,
    PackageEntry,
    PartnerSpec,
    PerUnitEntry,
    PlanOverrideSpec,
    PlanSpec,
    PriceEntry,
    TaxSpec,
    UsageTypeSpec,
    VolumeEntry,
    entry_price,
)

__all__ = [
    "CLIENT_STATUSES",
    "ISO_4217_CODES",
    "PROVIDERS",
    "AddressSpec",
    "BrandingSpec",
    "ClientSpec",
    "ConfigProblem",
    "ConnectionSpec",
    "GraduatedEntry",
    "PackageEntry",
    "PartnerFile",
    "PartnerFileError",
    "PartnerSpec",
    "PerUnitEntry",
    "PlanOverrideSpec",
    "PlanSpec",
    "PriceEntry",
    "TaxSpec",
    "UsageTypeSpec",
    "VolumeEntry",
    "check_partner_data",
    "entry_price",
    "load_partner_file",
    "parse_partner_toml",
    "problems_from_validation_error",
    "validate_partner_data",
]
