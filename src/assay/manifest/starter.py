"""Writing a commented starter manifest for `assay init`."""

from __future__ import annotations

from pydantic import BaseModel, Field

from assay.manifest.loader import parse_manifest_text
from assay.manifest.schema import ModelType, slugify


class StarterAnswers(BaseModel):
    name: str = Field(min_length=1)
    version: str = "0.1.0"
    description: str = ""
    intended_use: str = Field(min_length=1)
    sector: str = Field(min_length=1)
    model_type: ModelType = ModelType.closed
    developer: str = Field(min_length=1)
    deployer: str = Field(min_length=1)
    model_name: str = Field(min_length=1)


def render_starter(answers: StarterAnswers) -> str:
    """The starter text; it is validated before it is returned, so `init` never writes a bad file."""
    from jinja2 import Environment, PackageLoader, StrictUndefined

    env = Environment(
        loader=PackageLoader("assay.manifest", "."), undefined=StrictUndefined, keep_trailing_newline=True
    )
    developer_id = slugify(answers.developer)
    deployer_id = slugify(answers.deployer)
    if deployer_id == developer_id:
        deployer_id += "-deployer"
    text = env.get_template("starter.yaml.j2").render(
        **answers.model_dump(mode="json"),
        system_id=slugify(answers.name),
        developer_id=developer_id,
        deployer_id=deployer_id,
    )
    parse_manifest_text(text, "<starter>")
    return text
