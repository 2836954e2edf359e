"""Tests of the taxonomy (``tagdecide.taxonomy``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tagdecide.errors import InputError
from tagdecide.taxonomy import (
    ALL_TAGS,
    UNCLASSIFIED,
    Taxonomy,
    group_tag_columns,
    read_taxonomy,
    write_taxonomy,
)

REAL_LABELS = Path(__file__).parents[1] / ".." / "shared" / "data" / "mewo-taxonomy" / "labels.csv"

SMALL = Taxonomy(
    ["blues-rock", "punk", "cello", "violin", "tuba", "happy"],
    ["rock", "rock", "strings", "strings", "brass", "mood-happy"],
    ["Genres", "Genres", "Instruments", "Instruments", "Instruments", "Moods"],
)


def write_lines(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# -- the real taxonomy ------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_taxonomy() -> Taxonomy:
    if not REAL_LABELS.is_file():
        pytest.skip(f"the reference taxonomy is not available at {REAL_LABELS.resolve()}")
    return read_taxonomy(REAL_LABELS)


def test_real_taxonomy_shape(real_taxonomy: Taxonomy) -> None:
    assert len(real_taxonomy.tags) == 248
    assert len(set(real_taxonomy.tags)) == 248
    assert len(real_taxonomy.categories) == 41
    assert real_taxonomy.classes == ("Genres", "Instruments", "Moods")
    assert Counter(real_taxonomy.tag_classes) == {"Genres": 90, "Instruments": 112, "Moods": 46}
    assert real_taxonomy.tags[:2] == ("acid-jazz", "alternative-rock")
    assert real_taxonomy.category_of("acid-jazz") == "genres-jazz"
    assert real_taxonomy.category_of("alternative-rock") == "genres-rock"
    assert real_taxonomy.class_of("acid-jazz") == "Genres"
    assert real_taxonomy.class_of_category("genres-rock") == "Genres"
    assert "acid-jazz" in real_taxonomy and "genres-jazz" not in real_taxonomy
    # Every category sits in exactly one class, and the classes hold 18 + 15 + 8 categories.
    per_class = Counter(real_taxonomy.class_of_category(c) for c in real_taxonomy.categories)
    assert per_class == {"Genres": 18, "Instruments": 15, "Moods": 8}


def test_real_taxonomy_round_trip(real_taxonomy: Taxonomy, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    write_taxonomy(real_taxonomy, path)
    assert read_taxonomy(path) == real_taxonomy


# -- in-memory form ---------------------------------------------------------------------


def test_categories_and_classes_in_order_of_appearance() -> None:
    assert SMALL.categories == ("rock", "strings", "brass", "mood-happy")
    assert SMALL.classes == ("Genres", "Instruments", "Moods")
    assert SMALL.class_of_category("brass") == "Instruments"
    assert SMALL.category_of("violin") == "strings"
    assert SMALL.class_of("happy") == "Moods"


def test_membership() -> None:
    membership = SMALL.membership(["tuba", "punk", "happy"])
    assert membership.shape == (3, 4)
    assert membership.tolist() == [[0, 0, 1, 0], [1, 0, 0, 0], [0, 0, 0, 1]]


def test_dict_round_trip() -> None:
    assert Taxonomy.from_dict(SMALL.to_dict()) == SMALL


def test_from_dict_with_missing_key_raises() -> None:
    data = SMALL.to_dict()
    del data["tag_classes"]
    with pytest.raises(InputError, match=r"model: malformed taxonomy .*tag_classes"):
        Taxonomy.from_dict(data, source="model")


def test_write_read_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    write_taxonomy(SMALL, path)
    assert read_taxonomy(path) == SMALL
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == ",blues-rock,punk,cello,violin,tuba,happy"
    assert lines[1].startswith("category,rock,rock,strings")
    assert lines[2].startswith("class,Genres,Genres,Instruments")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["labels.csv"]


def test_names_with_commas_and_quotes_survive(tmp_path: Path) -> None:
    odd = Taxonomy(['rock, "hard"', "a b"], ["cat,1", "cat 2"], ["Genres", "Moods"])
    path = tmp_path / "labels.csv"
    write_taxonomy(odd, path)
    assert read_taxonomy(path) == odd


def test_reading_tolerates_bom_blank_lines_and_spaces(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text(
        "\ufeff,rock , punk\n\nCategory, guitar,guitar\nclass,Genres,Genres\n\n", encoding="utf-8"
    )
    assert read_taxonomy(path) == Taxonomy(["rock", "punk"], ["guitar"] * 2, ["Genres"] * 2)


# -- category_truth ---------------------------------------------------------------------


def test_category_truth_hand_computed() -> None:
    names = ["blues-rock", "punk", "cello", "violin", "tuba", "happy"]
    truth = np.array(
        [
            [1, 1, 0, 0, 0, 0],
            [0, 1, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 0],  # a track with no tags
            [0, 0, 1, 1, 1, 1],
        ]
    )
    # columns: rock, strings, brass, mood-happy
    expected = [[1, 0, 0, 0], [1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1]]
    result = SMALL.category_truth(truth, names)
    assert result.dtype == np.uint8
    assert result.tolist() == expected


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations(range(6)),
    truth=arrays(np.uint8, st.tuples(st.integers(0, 8), st.just(6)), elements=st.integers(0, 1)),
)
def test_category_truth_is_any_of_its_tags(order: list[int], truth: np.ndarray) -> None:
    names = [SMALL.tags[j] for j in order]
    result = SMALL.category_truth(truth, names)
    assert result.shape == (truth.shape[0], len(SMALL.categories))
    for i in range(truth.shape[0]):
        for k, category in enumerate(SMALL.categories):
            positive = any(
                truth[i, j] for j, name in enumerate(names) if SMALL.category_of(name) == category
            )
            assert result[i, k] == int(positive)


# -- malformed input --------------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "labels.csv")
    with pytest.raises(InputError, match=r"labels\.csv: empty file; expected three lines"):
        read_taxonomy(path)
    write_lines(path, "", " , ", "")
    with pytest.raises(InputError, match="empty file"):
        read_taxonomy(path)


def test_two_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "labels.csv", ",rock,punk", "category,guitar,guitar")
    with pytest.raises(InputError, match=r"labels\.csv: 2 non-empty lines; expected three"):
        read_taxonomy(path)


def test_four_lines(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "labels.csv", ",a", "category,c", "class,K", "extra,x")
    with pytest.raises(InputError, match="4 non-empty lines; expected three"):
        read_taxonomy(path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((",rock", "categories,guitar", "class,Genres"), "line 2 should start with 'category'"),
        ((",rock", "category,guitar", "klass,Genres"), "line 3 should start with 'class'"),
        ((",rock", "class,Genres", "category,guitar"), "line 2 should start with 'category'"),
    ],
)
def test_wrong_line_label(tmp_path: Path, lines: tuple[str, ...], message: str) -> None:
    path = write_lines(tmp_path / "labels.csv", *lines)
    with pytest.raises(InputError, match=message):
        read_taxonomy(path)


def test_wrong_cell_count(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "labels.csv", ",rock,punk", "category,guitar", "class,G,G")
    with pytest.raises(InputError, match="line 2 has 1 category cells for 2 tags"):
        read_taxonomy(path)


def test_duplicate_tag(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "labels.csv", ",rock,punk,rock", "category,g,g,g", "class,G,G,G")
    with pytest.raises(InputError, match=r"labels\.csv: tag\(s\) listed twice: 'rock'"):
        read_taxonomy(path)


def test_tag_also_a_category(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "labels.csv", ",rock,punk", "category,rock,rock", "class,G,G")
    with pytest.raises(InputError, match="used both as a tag and as a category: 'rock'"):
        read_taxonomy(path)


def test_category_in_two_classes(tmp_path: Path) -> None:
    path = write_lines(
        tmp_path / "labels.csv", ",rock,happy", "category,misc,misc", "class,Genres,Moods"
    )
    with pytest.raises(
        InputError,
        match="category 'misc' is in class 'Genres' but tag 'happy' puts it in class 'Moods'",
    ):
        read_taxonomy(path)


def test_missing_category_or_empty_tag(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "labels.csv", ",rock,punk", "category,g,", "class,G,G")
    with pytest.raises(InputError, match="no category for tag\\(s\\) 'punk'"):
        read_taxonomy(path)
    write_lines(path, ",rock,,punk", "category,g,g,g", "class,G,G,G")
    with pytest.raises(InputError, match=r"empty tag name in column\(s\) 3"):
        read_taxonomy(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"nowhere\.csv: no such file"):
        read_taxonomy(tmp_path / "nowhere.csv")


def test_folder_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder"):
        read_taxonomy(tmp_path)


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_bytes(b",rock\xff\xfe\ncategory,g\nclass,G\n")
    with pytest.raises(InputError, match="not a readable CSV taxonomy"):
        read_taxonomy(path)


def test_constructor_checks_lengths() -> None:
    with pytest.raises(InputError, match="2 tags but 1 categories and 2 classes"):
        Taxonomy(["a", "b"], ["c"], ["K", "K"])
    with pytest.raises(InputError, match="no tags"):
        Taxonomy([], [], [])


# -- grouping columns by class or category ------------------------------------------------
GROUPED = Taxonomy(
    ["grunge", "cello", "punk", "happy", "violin"],
    ["rock", "strings", "rock", "mood-happy", "strings"],
    ["Genres", "Instruments", "Genres", "Moods", "Instruments"],
)


def test_group_tag_columns_by_class_and_category() -> None:
    columns = ["violin", "grunge", "happy", "cello", "punk"]  # not the taxonomy's order
    by_class = group_tag_columns(columns, GROUPED)
    assert list(by_class) == ["Instruments", "Genres", "Moods"]  # order of first column
    assert {name: group.tolist() for name, group in by_class.items()} == {
        "Instruments": [0, 3],
        "Genres": [1, 4],
        "Moods": [2],
    }
    by_category = group_tag_columns(columns, GROUPED, by="category")
    assert {name: group.tolist() for name, group in by_category.items()} == {
        "strings": [0, 3],
        "rock": [1, 4],
        "mood-happy": [2],
    }


def test_group_tag_columns_without_a_taxonomy_is_one_group_of_every_column() -> None:
    for by in ("class", "category"):
        groups = group_tag_columns(["b", "a", "c"], None, by=by)  # type: ignore[arg-type]
        assert list(groups) == [ALL_TAGS]
        np.testing.assert_array_equal(groups[ALL_TAGS], [0, 1, 2])
    assert group_tag_columns([], None)[ALL_TAGS].size == 0


def test_group_tag_columns_puts_unknown_tags_in_one_group_of_their_own() -> None:
    groups = group_tag_columns(["kazoo", "punk", "theremin", "cello"], GROUPED)
    assert {name: group.tolist() for name, group in groups.items()} == {
        UNCLASSIFIED: [0, 2],
        "Genres": [1],
        "Instruments": [3],
    }


def test_group_tag_columns_cover_every_column_once() -> None:
    rng = np.random.default_rng(0)
    columns = [GROUPED.tags[i] for i in rng.permutation(5)] + ["unknown"]
    for by in ("class", "category"):
        groups = group_tag_columns(columns, GROUPED, by=by)  # type: ignore[arg-type]
        assert sorted(np.concatenate(list(groups.values())).tolist()) == list(range(6))


def test_group_tag_columns_refuses_an_unknown_level() -> None:
    with pytest.raises(InputError, match="by must be 'class' or 'category', not 'genre'"):
        group_tag_columns(["punk"], GROUPED, by="genre")  # type: ignore[arg-type]
