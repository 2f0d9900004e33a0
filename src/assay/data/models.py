"""The data card: what a dataset scan found, with no raw personal data in it."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assay.data.licences import LicenceCheck

CARD_FORMAT = 1


class Location(BaseModel):
    file: str
    row: int
    column: str = ""


class PiiExample(BaseModel):
    entity: str
    location: Location
    redacted: str = Field(description="the finding's neighbourhood with every found value replaced by <TYPE>")


class PersonalDataSummary(BaseModel):
    rows_with_personal_data: int = 0
    by_column: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="column -> entity type -> count"
    )
    examples: list[PiiExample] = []
    engine: str = ""
    presidio_rows: int = Field(0, description="rows a gate passed on to presidio")


class DuplicatePair(BaseModel):
    first: Location
    duplicate: Location
    similarity: float = 1.0


class Duplicates(BaseModel):
    exact_rows: int = Field(0, description="rows whose normalised text equals an earlier row's")
    exact_examples: list[DuplicatePair] = []
    near_pairs: int = 0
    near_examples: list[DuplicatePair] = []
    near_rows_examined: int = Field(0, description="rows compared for near-duplicates (the first N)")
    near_threshold: float = 0.0


class ContaminationHit(BaseModel):
    suite: str
    sample_id: str
    location: Location
    similarity: float
    exact: bool


class Contamination(BaseModel):
    suites: list[str] = []
    suite_samples: int = 0
    rows_matching: int = 0
    by_suite: dict[str, int] = {}
    examples: list[ContaminationHit] = []
    threshold: float = 0.0


class RowProblem(BaseModel):
    location: Location
    problem: str


class Quality(BaseModel):
    rows: int = 0
    empty_rows: int = 0
    malformed_rows: int = 0
    encoding_broken_rows: int = 0
    problems: list[RowProblem] = Field(default_factory=list, description="the first few bad rows")
    languages: dict[str, int] = {}
    length_chars: dict[str, int] = Field(default_factory=dict, description="length bucket -> rows")
    mean_length_chars: float = 0.0
    max_length_chars: int = 0
    toxic_term_rows: int = 0
    toxic_term_rate: float = Field(
        0.0,
        description="share of rows holding a term of Assay's short list: a lexical signal, not a classifier",
    )


class DataFile(BaseModel):
    path: str
    format: str
    bytes: int
    sha256: str
    rows: int


class LineageLink(BaseModel):
    component: str
    relation: str
    note: str = ""


class DataCard(BaseModel):
    """A dataset's scan results, as `assay data scan` writes them and the label's data area reads them."""

    card_format: int = CARD_FORMAT
    dataset_id: str = ""
    name: str = ""
    purpose: str = ""
    provider: str = ""
    system: str = ""
    path: str
    scanned_at: str
    assay_version: str
    files: list[DataFile] = []
    skipped_files: list[str] = []
    columns: list[str] = []
    personal_data: dict[str, int] = Field(
        default_factory=dict, description="entity type -> count over the whole dataset"
    )
    personal_data_detail: PersonalDataSummary = PersonalDataSummary()
    declared_contains_personal_data: bool | None = None
    licence: LicenceCheck = LicenceCheck()
    duplicates: Duplicates = Duplicates()
    contamination: Contamination = Contamination()
    quality: Quality = Quality()
    lineage: list[LineageLink] = []
    findings: list[str] = Field(
        default_factory=list, description="what a reviewer should look at, one line each"
    )
    seconds: float = 0.0
