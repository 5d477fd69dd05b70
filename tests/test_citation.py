"""CITATION.cff: valid Citation File Format 1.2.0, citing the replicated paper.

The schema is the official CFF 1.2.0 JSON schema (citation-file-format/citation-file-format,
CC-BY-4.0), as shipped in cffconvert 2.0.0 (cffconvert/schemas/1.2.0/schema.json).
"""

import json

import jsonschema
import pytest
import yaml

from conftest import REPO

SCHEMA = REPO / "tests" / "data" / "citation-file-format-1.2.0.schema.json"


def errors(document):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture
def citation():
    return yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))


def test_citation_file_is_valid_cff_1_2_0(citation):
    assert citation["cff-version"] == "1.2.0"
    assert errors(citation) == []


def test_the_schema_rejects_what_cff_forbids(citation):
    """The validation is real: a malformed reference and a missing title are caught."""
    assert errors({**citation, "references": [{"type": "conference-paper", "title": "x"}]})
    assert errors({key: value for key, value in citation.items() if key != "title"})


def test_the_replicated_paper_is_referenced(citation):
    (paper,) = [r for r in citation["references"] if r["title"] == "Adversarial Variational Autoencoders"]
    assert paper["authors"] == [{"family-names": "Nguyen", "given-names": "Loc"}]
    assert paper["year"] == 2024 and paper["conference"]["name"] == "ICBDC 2024"


def test_version_matches_the_package():
    from avarep import __version__

    citation = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    assert citation["version"] == __version__
