"""Configuration values a user can write: every accepted learning rate is trained, numbers
written as 1e-3 are numbers, and an empty value is an error, not a silent default."""

import re

import pytest

from avarep.config import ConfigError, coerce_command_line, validate
from avarep.sweep import LR_LABEL_PATTERN, lr_label

# Rates across the schema's whole range (0, 1], including those whose repr has no dot.
RATES = [1.0, 0.5, 0.01, 0.0001, 0.00005, 0.00001, 1.5e-07, 0.000123, 1e-300, 5e-324, 0.3 - 1e-17]


@pytest.mark.parametrize("lr", RATES)
def test_every_learning_rate_label_matches_the_wildcard_pattern(lr):
    label = lr_label(lr)
    assert re.fullmatch(LR_LABEL_PATTERN, label), label
    assert float(label) == lr


@pytest.mark.parametrize(
    "text, value",
    [("[1e-3]", [0.001]), ("[1E-3,0.5]", [0.001, 0.5]), ("[5e-5]", [0.00005]), ("[1]", [1])],
)
def test_learning_rates_in_exponent_form_are_numbers(text, value):
    fixed = coerce_command_line({"learning_rates": [0.1]}, {"learning_rates": text.strip("[]").split(",")})
    assert fixed["learning_rates"] == value
    assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in fixed["learning_rates"])


def test_exponent_form_in_a_config_file_is_a_number_but_a_quoted_decimal_stays_text():
    # YAML 1.1 reads an unquoted 1e-3 as text; "0.1" can only be text if it was quoted.
    fixed = coerce_command_line({"learning_rates": ["1e-3", "0.1"]}, {})
    assert fixed["learning_rates"] == [0.001, "0.1"]


def test_empty_value_on_the_command_line_is_an_error_naming_the_key():
    # Snakemake passes `data_dir=` as None, which would otherwise mean "download".
    with pytest.raises(ConfigError, match="config key 'data_dir': given empty"):
        coerce_command_line({"data_dir": None}, {"data_dir": None})


def test_accepted_exponent_rates_validate():
    config = coerce_command_line(
        {"dataset": "synthetic", "protocols": ["author"], "models": ["VAE"], "seeds": [0],
         "device": "cpu", "strict": False, "learning_rates": [0.1]},
        {"learning_rates": ["1e-3", "0.00005"]},
    )
    assert validate(config)["learning_rates"] == [0.001, 0.00005]
