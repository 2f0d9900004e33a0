"""Dataset scans and data cards (framework dimension 2: data).

`scan_path` streams a dataset once and returns a `DataCard`: personal data by type and column (with
redacted examples only), the declared licence against the SPDX list, exact and near duplicates,
contamination with the evaluation suites a manifest runs, and quality signals. `assay.data.service`
ties a scan to a manifest dataset, renders the card and records it as evidence.
"""

from assay.data.models import DataCard
from assay.data.readers import DataInputError
from assay.data.scan import ScanOptions, SuiteText, scan_path

__all__ = ["DataCard", "DataInputError", "ScanOptions", "SuiteText", "scan_path"]
