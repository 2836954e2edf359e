"""Reading and writing the data contract: scores, truth, groups and decisions.

Every input format (CSV or Parquet, chosen by extension) is converted here, once, into the
package's internal forms: :class:`~tagdecide.data.TrackScores` for scores and a
:class:`TagTable` for truth. Tracks are matched by ``ChallengeID``, columns by name. Every
problem is reported as an :class:`~tagdecide.errors.InputError` naming the file, column,
track and value.

The modules, each importing only those above it:

- :mod:`~tagdecide.io.formats`: a file's format, readability and columns;
- :mod:`~tagdecide.io.ids`: track ids (decimal integers, unique, matched);
- :mod:`~tagdecide.io.cells`: a batch's cells as a matrix, and their checks;
- :mod:`~tagdecide.io.csv_reader`, :mod:`~tagdecide.io.parquet_reader`: record batches;
- :mod:`~tagdecide.io.batches`: either format's batches, read ahead, checked, stacked;
- :mod:`~tagdecide.io.fast_csv`: clean whole CSV files parsed in parallel (polars);
- :mod:`~tagdecide.io.scores`, :mod:`~tagdecide.io.truth`, :mod:`~tagdecide.io.groups`:
  the three kinds of input; :mod:`~tagdecide.io.labelled` reads them together;
- :mod:`~tagdecide.io.decisions`: decisions read back (JSON lines included);
- :mod:`~tagdecide.io.writers`: matrices and decisions written atomically.
"""

from __future__ import annotations

from tagdecide._files import atomic_path
from tagdecide.io.batches import DEFAULT_BATCH_ROWS
from tagdecide.io.decisions import read_decisions
from tagdecide.io.formats import DECISION_SUFFIXES, DecisionFormat, file_format, read_columns
from tagdecide.io.groups import read_groups
from tagdecide.io.labelled import read_labelled
from tagdecide.io.scores import check_score_matrix, iter_scores, read_scores, scores_from_matrix
from tagdecide.io.truth import TagTable, read_truth
from tagdecide.io.writers import DecisionWriter, write_matrix

__all__ = [
    "DECISION_SUFFIXES",
    "DEFAULT_BATCH_ROWS",
    "DecisionFormat",
    "DecisionWriter",
    "TagTable",
    "atomic_path",
    "check_score_matrix",
    "file_format",
    "iter_scores",
    "read_columns",
    "read_decisions",
    "read_groups",
    "read_labelled",
    "read_scores",
    "read_truth",
    "scores_from_matrix",
    "write_matrix",
]
