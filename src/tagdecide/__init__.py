"""tagdecide: turn auto-tagging networks' scores into tag decisions.

Learns from a labelled sample how to decide each (track, tag) so that support-weighted F1
over tags is as high as possible, explains and evaluates those decisions, and applies them
to whole catalogues.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from tagdecide._version import __version__
from tagdecide.errors import InputError, ModelFileError, TagdecideError, TagdecideWarning

if TYPE_CHECKING:
    from tagdecide.data import ID_COLUMN, LabelledSet, TrackScores
    from tagdecide.diagnosis import RegimeDiagnosis, diagnose_regime
    from tagdecide.engines.local import predict_file, read_scores_for
    from tagdecide.evaluation import (
        CrossValidation,
        HeldOutEvaluation,
        Leaderboard,
        compare_strategies,
        cross_validate,
        score_held_out,
    )
    from tagdecide.explain import TagExplanation, TrackExplanation, explain_track
    from tagdecide.io import (
        DecisionWriter,
        iter_scores,
        read_decisions,
        read_groups,
        read_labelled,
        read_scores,
        read_truth,
    )
    from tagdecide.metrics import (
        ScoreReport,
        f1_per_tag,
        macro_f1_score,
        micro_f1_score,
        samples_f1_score,
        score_report,
        weighted_f1_score,
    )
    from tagdecide.model_file import load_model, save_model
    from tagdecide.model_selection import make_folds
    from tagdecide.multilabel import TagDecisionClassifier
    from tagdecide.review import ReviewItem, review_queue
    from tagdecide.sampling import LabellingSample, choose_tracks_to_label
    from tagdecide.search import best_f1_thresholds
    from tagdecide.shift import ScoreSummary, ShiftReport, compare_to
    from tagdecide.strategies import (
        AutoStrategy,
        ConstantThreshold,
        HierarchicalThresholds,
        PerTagThresholds,
        RegularisedThresholds,
        RowwiseThresholds,
        StackedThresholds,
        Strategy,
        ThresholdStrategy,
        available_strategies,
        make_strategy,
    )
    from tagdecide.taxonomy import Taxonomy, read_taxonomy, write_taxonomy

#: The module of every other public name. They are imported on first use (module
#: ``__getattr__``), so that ``import tagdecide`` and the command line's ``--help`` do not
#: pay for pyarrow, scikit-learn, rich, fastapi and matplotlib; the imports above are for
#: type checkers.
_LAZY_EXPORTS: dict[str, tuple[str, ...]] = {
    "tagdecide.engines.local": ("predict_file", "read_scores_for"),
    "tagdecide.data": ("ID_COLUMN", "LabelledSet", "TrackScores"),
    "tagdecide.diagnosis": ("RegimeDiagnosis", "diagnose_regime"),
    "tagdecide.evaluation": (
        "CrossValidation",
        "HeldOutEvaluation",
        "Leaderboard",
        "compare_strategies",
        "cross_validate",
        "score_held_out",
    ),
    "tagdecide.explain": ("TagExplanation", "TrackExplanation", "explain_track"),
    "tagdecide.io": (
        "DecisionWriter",
        "iter_scores",
        "read_decisions",
        "read_groups",
        "read_labelled",
        "read_scores",
        "read_truth",
    ),
    "tagdecide.metrics": (
        "ScoreReport",
        "f1_per_tag",
        "macro_f1_score",
        "micro_f1_score",
        "samples_f1_score",
        "score_report",
        "weighted_f1_score",
    ),
    "tagdecide.model_file": ("load_model", "save_model"),
    "tagdecide.model_selection": ("make_folds",),
    "tagdecide.multilabel": ("TagDecisionClassifier",),
    "tagdecide.review": ("ReviewItem", "review_queue"),
    "tagdecide.sampling": ("LabellingSample", "choose_tracks_to_label"),
    "tagdecide.search": ("best_f1_thresholds",),
    "tagdecide.shift": ("ScoreSummary", "ShiftReport", "compare_to"),
    "tagdecide.strategies": (
        "AutoStrategy",
        "ConstantThreshold",
        "HierarchicalThresholds",
        "PerTagThresholds",
        "RegularisedThresholds",
        "RowwiseThresholds",
        "StackedThresholds",
        "Strategy",
        "ThresholdStrategy",
        "available_strategies",
        "make_strategy",
    ),
    "tagdecide.taxonomy": ("Taxonomy", "read_taxonomy", "write_taxonomy"),
}
_MODULE_OF = {name: module for module, names in _LAZY_EXPORTS.items() for name in names}


__all__ = [
    "ID_COLUMN",
    "AutoStrategy",
    "ConstantThreshold",
    "CrossValidation",
    "DecisionWriter",
    "HeldOutEvaluation",
    "HierarchicalThresholds",
    "InputError",
    "LabellingSample",
    "LabelledSet",
    "Leaderboard",
    "ModelFileError",
    "PerTagThresholds",
    "RegimeDiagnosis",
    "RegularisedThresholds",
    "ReviewItem",
    "RowwiseThresholds",
    "ScoreReport",
    "ScoreSummary",
    "ShiftReport",
    "StackedThresholds",
    "Strategy",
    "TagDecisionClassifier",
    "TagdecideError",
    "TagExplanation",
    "TagdecideWarning",
    "Taxonomy",
    "ThresholdStrategy",
    "TrackExplanation",
    "TrackScores",
    "__version__",
    "available_strategies",
    "best_f1_thresholds",
    "choose_tracks_to_label",
    "compare_strategies",
    "compare_to",
    "cross_validate",
    "diagnose_regime",
    "explain_track",
    "f1_per_tag",
    "iter_scores",
    "load_model",
    "macro_f1_score",
    "make_folds",
    "make_strategy",
    "micro_f1_score",
    "predict_file",
    "read_decisions",
    "read_groups",
    "read_labelled",
    "read_scores",
    "read_scores_for",
    "read_taxonomy",
    "read_truth",
    "review_queue",
    "samples_f1_score",
    "save_model",
    "score_held_out",
    "score_report",
    "weighted_f1_score",
    "write_taxonomy",
]


if not TYPE_CHECKING:  # type checkers see the real imports above, and flag unknown names

    def __getattr__(name: str) -> Any:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        globals()[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *__all__})
