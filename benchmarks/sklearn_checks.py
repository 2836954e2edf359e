"""scikit-learn's ``check_estimator`` on every registered strategy, with the reason of each
check that does not pass.

The strategies are multilabel classifiers whose inputs are scores in [0, 1], one column per
tag (then category scores), and whose truth is a 0/1 matrix. Most of scikit-learn's checks
fit them on data of another kind: real numbers of any size as X, a y of labels 1 and 2 or
strings, fewer X columns than labels. Those checks fail on the strategies' own input
checks, each a one-line error that names the column and row; they are grouped by that
reason below. Every other check runs.

Usage: python benchmarks/sklearn_checks.py [--strategies thresholds,stacked]
"""

from __future__ import annotations

import argparse
import re
import time
import warnings
from collections import Counter, defaultdict

import sklearn
from sklearn.utils.estimator_checks import check_estimator

from tagdecide.strategies import available_strategies, make_strategy

#: Why a check fails, from its error message (first match wins).
REASONS: tuple[tuple[str, str], ...] = (
    (r"outside \[0, 1\]", "its X are not scores in [0, 1] (real numbers of any size)"),
    (r"needs a taxonomy", "the strategy needs a taxonomy (fit(..., taxonomy=...))"),
    (
        r"X has \d+ columns but Y has \d+",
        "fewer X columns than labels: each tag is decided from its own score column",
    ),
    (r"^Y: .*(truth must be 0 or 1|is not a number)", "its y has labels other than 0 and 1"),
    (r"^X: .*is not a number", "its X holds Python objects: scores are numbers"),
    (r"multi_class", "a multiclass y is refused as 'truth must be 0 or 1', not in its words"),
    (r"continuous target", "a continuous y is refused as 'truth must be 0 or 1', not in its words"),
    (
        r"only one class",
        "a y of 1s only: constant does not learn (it decides score >= 0.5 whatever y is); "
        "hierarchical and gated refuse to fit without a taxonomy",
    ),
)


def reason(message: str) -> str:
    for pattern, why in REASONS:
        if re.search(pattern, message, flags=re.MULTILINE):
            return why
    return "other: " + message.splitlines()[0][:100]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default=",".join(available_strategies()))
    args = parser.parse_args()
    names = [name.strip() for name in args.strategies.split(",") if name.strip()]
    print(f"scikit-learn {sklearn.__version__}: check_estimator(strategy, on_fail=None)\n")
    print("| strategy | checks | passed | failed | skipped | seconds |")
    print("|---|---|---|---|---|---|")
    failures: dict[str, dict[str, list[str]]] = {}
    skipped: dict[str, str] = {}
    for name in names:
        started = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            results = check_estimator(make_strategy(name), on_fail=None)
        seconds = time.perf_counter() - started
        counts = Counter(result["status"] for result in results)
        by_reason: dict[str, list[str]] = defaultdict(list)
        for result in results:
            if result["status"] == "failed":
                check = result["check_name"]
                why = reason(str(result["exception"]))
                if check not in by_reason[why]:
                    by_reason[why].append(check)
            elif result["status"] == "skipped":
                skipped[result["check_name"]] = str(result["exception"]).splitlines()[0]
        failures[name] = by_reason
        print(
            f"| {name} | {len(results)} | {counts['passed']} | {counts['failed']} | "
            f"{counts['skipped']} | {seconds:.1f} |"
        )
    print("\nFailed checks by reason (strategies where it applies):")
    every: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for name, by_reason in failures.items():
        for why, checks in by_reason.items():
            for check in checks:
                every[why][check].append(name)
    for why, checks in every.items():
        print(f"\n- {why}:")
        for check, strategies in sorted(checks.items()):
            where = "all" if len(strategies) == len(names) else ", ".join(strategies)
            print(f"  - {check} ({where})")
    print("\nSkipped:")
    for check, why in skipped.items():
        print(f"- {check}: {why}")


if __name__ == "__main__":
    main()
