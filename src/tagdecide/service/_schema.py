"""The service's JSON shapes as pydantic models: for the OpenAPI schema and ``GET /v1/model``.

Requests are not parsed through these (see :mod:`tagdecide.service._decide`, which decodes
straight into one score matrix); they document what is accepted and answered.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

# -- /v1 -------------------------------------------------------------------------------


class TrackIn(BaseModel):
    """One track's scores, keyed by tag or category name."""

    id: str = Field(description="The track's id (unique in a request; at most 1024 characters).")
    scores: dict[str, float] = Field(
        description="Score in [0, 1] of every tag (and required category) of the model."
    )


class DecideRequest(BaseModel):
    """Tracks to decide."""

    tracks: list[TrackIn] = Field(min_length=1)


class TrackOut(BaseModel):
    """One track's decisions: the tags it gets, in the model's tag order."""

    id: str
    tags: list[str]


class DecideResponse(BaseModel):
    """Decisions, in the order of the request's tracks."""

    tracks: list[TrackOut]


class Detail(BaseModel):
    """A refused request: one line naming the culprit."""

    detail: str


class StrategyInfo(BaseModel):
    name: str
    params: dict[str, Any]
    choice: str | None = Field(
        None, description="For auto: what it chose on, how, and how many tags follow each."
    )


class RegimeInfo(BaseModel):
    """The in-sample test of the training scores (see ``tagdecide diagnose``)."""

    verdict: str = Field(description="in-sample, out-of-sample or unknown.")
    statistic: float | None = Field(description="Median score-test statistic over tags.")
    threshold: float = Field(description="Statistics below it say in-sample.")
    margin: float | None = Field(description="How far from the threshold, as a ratio.")
    per_network: dict[str, float | None]
    n_tags: int
    explanation: str


class ModelInfo(BaseModel):
    """What the served model decides and what it needs."""

    name: str = Field(description="The model's name in the Open Inference Protocol paths.")
    strategy: StrategyInfo
    tags: list[str] = Field(description="Tags decided; each track needs a score for each.")
    categories: list[str] = Field(description="Categories each track needs a score for.")
    ignored_categories: list[str] = Field(
        description="The taxonomy's other categories: accepted in scores and ignored."
    )
    format: str
    format_version: int
    package_version: str
    training_n_tracks: int
    regime: RegimeInfo | None = Field(
        description="Whether the training scores looked in-sample for the networks "
        "(null: not tested, e.g. a model file written before the test existed)."
    )


class Health(BaseModel):
    status: str


# -- /v2: the Open Inference Protocol (KServe v2) ---------------------------------------

Datatype = Literal["FP32", "FP64"]


class RequestInput(BaseModel):
    """The input tensor: ``[n_tracks, n_columns]`` scores, columns as the metadata's."""

    name: str = Field(description="'scores'.")
    shape: list[int] = Field(description="[n_tracks, n_columns].")
    datatype: Datatype
    parameters: dict[str, Any] | None = None
    data: list[float] | list[list[float]] = Field(
        description="Row-major scores, flat or one list per track."
    )


class RequestOutput(BaseModel):
    name: str = Field(description="'decisions'.")
    parameters: dict[str, Any] | None = None


class InferenceRequest(BaseModel):
    id: str | None = None
    parameters: dict[str, Any] | None = None
    inputs: list[RequestInput] = Field(min_length=1, max_length=1)
    outputs: list[RequestOutput] | None = None


class ResponseOutput(BaseModel):
    """0/1 decisions ``[n_tracks, n_tags]``; ``parameters.columns`` names the tags."""

    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: list[int]


class InferenceResponse(BaseModel):
    model_name: str
    model_version: str | None = None
    id: str | None = None
    parameters: dict[str, Any] | None = None
    outputs: list[ResponseOutput]


class MetadataTensor(BaseModel):
    name: str
    datatype: str
    shape: list[int]
    parameters: dict[str, Any] | None = None


class MetadataModelResponse(BaseModel):
    name: str
    versions: list[str] | None = None
    platform: str
    inputs: list[MetadataTensor]
    outputs: list[MetadataTensor]
    parameters: dict[str, Any] | None = Field(
        None, description="'columns': the input tensor's columns, in order; 'tags': the output's."
    )


class MetadataServerResponse(BaseModel):
    name: str
    version: str
    extensions: list[str]


class InferenceErrorResponse(BaseModel):
    error: str


class LiveResponse(BaseModel):
    live: bool


class ReadyResponse(BaseModel):
    ready: bool


class ModelReadyResponse(BaseModel):
    name: str
    ready: bool
