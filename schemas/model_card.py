"""Model cards: typed, versioned documents about one model version.

The sections are those of Mitchell et al. 2019, "Model Cards for Model Reporting" (model
details, intended use, factors, metrics, evaluation data, training data, quantitative
analyses, ethical considerations, caveats and recommendations), plus what a regulator
asks of a high-risk system under the EU AI Act: its risk class and why, its intended
purpose, the people responsible, how it is monitored, and the results of its fairness
and robustness tests.

Every section is optional and typed; unknown fields are refused (a misspelt section is a
422, not silently stored). `schema_version` says which shape a card has. A card written
before cards were typed (free JSON) is read with its content, untouched, under `legacy`
(see `read_card`). The whole card, as compact JSON, is at most MAX_CARD_BYTES.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, Strict, ValidationError

from schemas import rules as r

SCHEMA_VERSION = 1
"""The shape of cards written now."""

MAX_ITEMS = 100  # entries of a list of statements (uses, factors, caveats...)
MAX_DATASETS = 50
MAX_SLICES = 1000
MAX_TESTS = 500
MAX_OWNERS = 50

SectionName = Literal[
    "model_details",
    "intended_use",
    "intended_purpose",
    "factors",
    "metrics",
    "evaluation_data",
    "training_data",
    "quantitative_analyses",
    "ethical_considerations",
    "caveats_and_recommendations",
    "risk",
    "owners",
    "monitoring_plan",
    "fairness_tests",
    "robustness_tests",
    "legacy",
]
SECTIONS: tuple[str, ...] = get_args(SectionName)
"""Every section, in the order a rendered card shows them."""
EXPECTED: tuple[str, ...] = tuple(s for s in SECTIONS if s != "legacy")
"""The sections a complete card fills (`legacy` only keeps what an untyped card held)."""

RiskClass = Literal["prohibited", "high", "limited", "minimal"]
RISK_CLASSES: tuple[str, ...] = get_args(RiskClass)

# -- values ----------------------------------------------------------------------------

Label = Annotated[str, Strict(), Field(min_length=1, max_length=r.MAX_SHORT_TEXT, pattern=r.NO_NUL)]
Prose = r.Text
Statements = Annotated[list[Prose], Field(max_length=MAX_ITEMS)]
Labels = Annotated[list[Label], Field(max_length=MAX_ITEMS)]
Day = Annotated[
    str, Strict(), Field(pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="YYYY-MM-DD")
]


class Part(BaseModel):
    """A part of a card: strict, and unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


# -- Mitchell et al. 2019 ----------------------------------------------------------------


class ModelDetails(Part):
    """Who made the model, when, what it is, and where to read more."""

    overview: Prose | None = None
    developers: Labels = Field(default_factory=list, description="People or organisations")
    date: Day | None = None
    model_type: Label | None = Field(None, description="e.g. gradient-boosted trees")
    architecture: Prose | None = None
    training_algorithm: Prose | None = None
    references: Statements = Field(default_factory=list, description="Papers, resources")
    citation: Prose | None = None
    license: Label | None = None
    contact: Label | None = Field(None, description="Where to send questions or comments")


class IntendedUse(Part):
    primary_uses: Statements = Field(default_factory=list)
    primary_users: Statements = Field(default_factory=list)
    out_of_scope: Statements = Field(default_factory=list, description="Uses to avoid")


class Factors(Part):
    """Groups, instruments and environments the model's performance may vary with."""

    relevant: Statements = Field(default_factory=list)
    evaluation: Statements = Field(default_factory=list, description="Those evaluated")


class Metrics(Part):
    performance_measures: Statements = Field(default_factory=list)
    decision_thresholds: Statements = Field(default_factory=list)
    variation_approaches: Prose | None = Field(
        None, description="How uncertainty was measured (confidence intervals, runs...)"
    )


class Dataset(Part):
    name: Label
    uri: str | None = Field(None, max_length=r.MAX_URI, pattern=r.NO_NUL)
    description: Prose | None = None


class Data(Part):
    """Evaluation or training data: the datasets, why they were chosen, how prepared."""

    datasets: Annotated[list[Dataset], Field(max_length=MAX_DATASETS)] = Field(default_factory=list)
    motivation: Prose | None = None
    preprocessing: Prose | None = None


class SliceResult(Part):
    """One metric on one slice of the evaluation data (unitary or intersectional)."""

    slice: Label = Field(description="e.g. 'all', 'region=EU', 'age>=65 & sex=F'")
    metric: Label
    value: r.Metric
    lower: r.Metric | None = Field(None, description="Lower bound of its interval")
    upper: r.Metric | None = Field(None, description="Upper bound of its interval")
    dataset: Label | None = None


class QuantitativeAnalyses(Part):
    slices: Annotated[list[SliceResult], Field(max_length=MAX_SLICES)] = Field(default_factory=list)
    summary: Prose | None = None


class EthicalConsiderations(Part):
    data: Prose | None = Field(None, description="Sensitive data used, and how")
    human_life: Prose | None = Field(None, description="Effects on human life or safety")
    mitigations: Prose | None = None
    risks_and_harms: Prose | None = None
    use_cases: Prose | None = Field(None, description="Fraught uses")


class CaveatsAndRecommendations(Part):
    caveats: Statements = Field(default_factory=list)
    recommendations: Statements = Field(default_factory=list)


# -- governance ---------------------------------------------------------------------------


class Risk(Part):
    """The EU AI Act risk class, and the reason for it."""

    # `class` on the wire and in the log, and only that (`class_` is Python's spelling).
    model_config = ConfigDict(
        validate_by_alias=True, validate_by_name=False, serialize_by_alias=True
    )

    class_: RiskClass = Field(alias="class", description="prohibited, high, limited or minimal")
    reason: Annotated[str, Strict(), Field(min_length=1, max_length=r.MAX_TEXT, pattern=r.NO_NUL)]


class Owner(Part):
    subject: r.Subject = Field(description="Who: a subject or group id")
    role: Label = Field(description="e.g. accountable, technical, data steward")


class Alert(Part):
    metric: Label
    condition: Label = Field(description="e.g. '< 0.85 over 7 days'")
    action: Prose | None = None


class MonitoringPlan(Part):
    signals: Statements = Field(default_factory=list, description="What is watched")
    frequency: Label | None = Field(None, description="e.g. daily")
    alerts: Annotated[list[Alert], Field(max_length=MAX_ITEMS)] = Field(default_factory=list)
    retraining: Prose | None = Field(None, description="When and how the model is retrained")


class CheckResult(Part):
    """A fairness or robustness test: its metric's value against a threshold."""

    name: Label
    metric: Label
    slice: Label | None = None
    value: r.Metric
    threshold: r.Metric
    passed: Annotated[bool, Strict()]
    notes: Prose | None = None


CheckResults = Annotated[list[CheckResult], Field(max_length=MAX_TESTS)]


class CardSections(Part):
    """The sections of a card, each optional."""

    model_details: ModelDetails | None = None
    intended_use: IntendedUse | None = None
    intended_purpose: Prose | None = Field(
        None, description="The use the provider intends, as the EU AI Act means it"
    )
    factors: Factors | None = None
    metrics: Metrics | None = None
    evaluation_data: Data | None = None
    training_data: Data | None = None
    quantitative_analyses: QuantitativeAnalyses | None = None
    ethical_considerations: EthicalConsiderations | None = None
    caveats_and_recommendations: CaveatsAndRecommendations | None = None
    risk: Risk | None = None
    owners: Annotated[list[Owner], Field(max_length=MAX_OWNERS)] | None = None
    monitoring_plan: MonitoringPlan | None = None
    fairness_tests: CheckResults | None = None
    robustness_tests: CheckResults | None = None
    legacy: r.JsonObject | None = Field(
        None,
        description="What a card written before cards were typed held, kept as it was",
    )


class ModelCard(CardSections):
    """A whole model card. At most MAX_CARD_BYTES as compact JSON."""

    schema_version: Literal[1] = Field(1, description="The card's shape")

    def stored(self) -> dict[str, Any]:
        """The card as the log keeps it: JSON values; fields left empty are left out."""
        return {"schema_version": self.schema_version, **dump(self)}


def dump(part: BaseModel) -> dict[str, Any]:
    """part as JSON values, without the fields left at their (empty) defaults."""
    return part.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def read_card(stored: Mapping[str, Any] | None) -> ModelCard:
    """A card as stored (in an event or a view) read as a typed card.

    Nothing stored is an empty card. A card without `schema_version` was written before
    cards were typed: its content is kept, untouched, under `legacy`. So is a stored card
    that no longer reads as a typed one, so a read never fails on what the log holds.
    """
    if not stored:
        return ModelCard()
    if "schema_version" in stored:
        try:
            return ModelCard.model_validate(dict(stored))
        except ValidationError:
            pass
    return ModelCard(legacy=dict(stored))


# -- completeness -----------------------------------------------------------------------


def _filled(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, BaseModel):
        return any(_filled(getattr(value, name)) for name in type(value).model_fields)
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict):
        return bool(value)
    return True  # numbers and booleans say something


class Completeness(Part):
    complete: bool = Field(description="Every expected section is filled")
    filled: list[SectionName]
    missing: list[SectionName] = Field(description="Expected sections left empty")


def completeness(card: ModelCard) -> Completeness:
    """Which sections say something. A section is filled when any of its fields holds a
    value that is not empty (blank text, an empty list). Promotion gates read this as
    `card.complete` and `card.missing`."""
    filled = [s for s in SECTIONS if _filled(getattr(card, s))]
    missing = [s for s in EXPECTED if s not in filled]
    return Completeness(complete=not missing, filled=filled, missing=missing)  # type: ignore[arg-type]
