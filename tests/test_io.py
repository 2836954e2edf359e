"""Reading and writing the data contract (tagdecide.io), at library level."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import (
    CATEGORIES,
    ID,
    TAGS,
    Dataset,
    reorder_rows,
    write_csv,
    write_parquet,
)

from tagdecide.errors import InputError, TagdecideWarning
from tagdecide.io import (
    DecisionWriter,
    atomic_path,
    file_format,
    iter_scores,
    read_columns,
    read_decisions,
    read_groups,
    read_labelled,
    read_scores,
    read_truth,
    write_matrix,
)
from tagdecide.taxonomy import read_taxonomy


def _no_temporaries(folder: Path) -> None:
    leftovers = [path.name for path in folder.iterdir() if "tagdecide-tmp" in path.name]
    assert leftovers == []


# -- reading ----------------------------------------------------------------------------


def test_read_columns_csv(dataset: Dataset) -> None:
    assert read_columns(dataset.x_csv) == (ID, *TAGS, *CATEGORIES)


def test_read_columns_of_a_very_wide_file(dataset: Dataset) -> None:
    # 200,000 columns: a check quadratic in the columns would take hours, a linear one ms.
    names = [ID, *(f"tag-{j}" for j in range(200_000))]
    path = dataset.path("wide.csv")
    path.write_text(",".join(names) + "\n" + ",".join(["1"] + ["0.5"] * 200_000) + "\n")
    assert read_columns(path) == tuple(names)
    path.write_text(",".join([*names, "tag-7", "tag-3", "tag-7"]) + "\n")
    with pytest.raises(InputError, match=r"wide\.csv: column\(s\) appear twice: 'tag-3', 'tag-7'$"):
        read_columns(path)


def test_read_scores_csv(dataset: Dataset) -> None:
    scores = read_scores(dataset.x_csv, TAGS, CATEGORIES)
    np.testing.assert_array_equal(scores.ids, dataset.ids)
    assert scores.tag_names == TAGS
    np.testing.assert_allclose(scores.tag_scores, dataset.scores)
    assert scores.category_names == CATEGORIES
    np.testing.assert_allclose(scores.category_scores, dataset.category_scores)


def test_read_scores_parquet(dataset: Dataset) -> None:
    path = write_parquet(dataset.path("x.parquet"), dataset.x_columns())
    assert file_format(path) == "parquet"
    assert read_columns(path) == (ID, *TAGS, *CATEGORIES)
    scores = read_scores(path, TAGS, CATEGORIES)
    np.testing.assert_array_equal(scores.ids, dataset.ids)
    np.testing.assert_allclose(scores.tag_scores, dataset.scores)
    np.testing.assert_allclose(scores.category_scores, dataset.category_scores)


def test_read_truth_csv_and_parquet_agree(dataset: Dataset) -> None:
    from_csv = read_truth(dataset.y_csv)
    from_parquet = read_truth(write_parquet(dataset.path("y.parquet"), dataset.y_columns()))
    for table in (from_csv, from_parquet):
        assert table.names == TAGS
        np.testing.assert_array_equal(table.ids, dataset.ids)
        np.testing.assert_array_equal(table.values, dataset.truth)
        assert table.values.dtype == np.uint8


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_columns_are_matched_by_name(dataset: Dataset, suffix: str) -> None:
    shuffled = [ID, "calm", "mood", "punk", "happy", "rock", "blues-rock", "sad"]
    writer = write_csv if suffix == "csv" else write_parquet
    x_path = writer(dataset.path(f"x_shuffled.{suffix}"), dataset.x_columns(), shuffled)
    scores = read_scores(x_path, TAGS, CATEGORIES)
    np.testing.assert_allclose(scores.tag_scores, dataset.scores)
    np.testing.assert_allclose(scores.category_scores, dataset.category_scores)
    # Asking for the tags in another order gives the columns in that order.
    wanted = ("sad", "blues-rock")
    with pytest.warns(TagdecideWarning, match="ignoring 5 unknown column"):
        picked = read_scores(x_path, wanted)
    np.testing.assert_allclose(picked.tag_scores, dataset.scores[:, [3, 0]])
    truth_order = [ID, "sad", "calm", "blues-rock", "happy", "punk"]
    y_path = writer(dataset.path(f"y_shuffled.{suffix}"), dataset.y_columns(), truth_order)
    assert read_truth(y_path).names == ("sad", "calm", "blues-rock", "happy", "punk")
    np.testing.assert_array_equal(read_truth(y_path, TAGS).values, dataset.truth)


def test_tracks_are_matched_by_id_not_row_order(dataset: Dataset) -> None:
    order = np.random.default_rng(1).permutation(dataset.n_tracks)
    x_path = write_csv(dataset.path("x_rows.csv"), reorder_rows(dataset.x_columns(), order))
    taxonomy = read_taxonomy(dataset.labels)
    data = read_labelled(x_path, dataset.y_csv, taxonomy=taxonomy)
    np.testing.assert_array_equal(data.scores.ids, dataset.ids[order])
    np.testing.assert_array_equal(data.truth, dataset.truth[order])
    np.testing.assert_allclose(data.scores.tag_scores, dataset.scores[order])


def test_read_labelled_with_taxonomy_reads_categories_without_warning(dataset: Dataset) -> None:
    data = read_labelled(
        dataset.x_csv,
        dataset.y_csv,
        taxonomy=read_taxonomy(dataset.labels),
        groups_path=dataset.groups,
    )
    assert data.scores.tag_names == TAGS
    assert data.scores.category_names == CATEGORIES
    assert data.groups is not None
    assert list(data.groups) == dataset.albums


def test_read_labelled_tags_follow_truth_column_order(dataset: Dataset) -> None:
    truth_order = [ID, "sad", "calm", "blues-rock", "happy", "punk"]
    y_path = write_csv(dataset.path("y_order.csv"), dataset.y_columns(), truth_order)
    data = read_labelled(dataset.x_csv, y_path, taxonomy=read_taxonomy(dataset.labels))
    assert data.scores.tag_names == ("sad", "calm", "blues-rock", "happy", "punk")
    np.testing.assert_array_equal(data.truth, dataset.truth[:, [3, 4, 0, 2, 1]])


def test_without_taxonomy_category_columns_are_unknown(dataset: Dataset) -> None:
    with pytest.warns(TagdecideWarning, match=r"train_X\.csv: ignoring 2 unknown column.*'rock'"):
        data = read_labelled(dataset.x_csv, dataset.y_csv)
    assert data.scores.tag_names == TAGS
    assert data.scores.category_names == ()


def test_category_column_in_truth_is_not_a_tag_with_taxonomy(dataset: Dataset) -> None:
    columns = dataset.y_columns()
    columns["rock"] = [str(int(value)) for value in dataset.truth[:, :2].max(axis=1)]
    y_path = write_csv(dataset.path("y_with_category.csv"), columns)
    data = read_labelled(dataset.x_csv, y_path, taxonomy=read_taxonomy(dataset.labels))
    assert data.scores.tag_names == TAGS
    np.testing.assert_array_equal(data.truth, dataset.truth)


def test_truth_column_outside_taxonomy_is_ignored_with_warning(dataset: Dataset) -> None:
    columns = dataset.y_columns()
    columns["extra-tag"] = ["0"] * dataset.n_tracks
    y_path = write_csv(dataset.path("y_extra.csv"), columns)
    with pytest.warns(TagdecideWarning, match=r"y_extra\.csv: ignoring 1 column.*'extra-tag'"):
        data = read_labelled(dataset.x_csv, y_path, taxonomy=read_taxonomy(dataset.labels))
    assert data.scores.tag_names == TAGS


@pytest.mark.parametrize("group_rows", [1, 7, 16, 25, 60])
def test_iter_scores_joins_and_cuts_parquet_row_groups(dataset: Dataset, group_rows: int) -> None:
    """Row groups are read one at a time; batches have batch_rows rows whatever their size."""
    whole = pq.read_table(write_parquet(dataset.path("whole.parquet"), dataset.x_columns()))
    path = dataset.path("grouped.parquet")
    pq.write_table(whole, path, row_group_size=group_rows)
    assert pq.ParquetFile(path).num_row_groups == -(-dataset.n_tracks // group_rows)
    batches = list(iter_scores(path, TAGS, CATEGORIES, batch_rows=16))
    assert [batch.n_tracks for batch in batches] == [16, 16, 16, 12]
    np.testing.assert_array_equal(np.concatenate([batch.ids for batch in batches]), dataset.ids)
    np.testing.assert_allclose(np.vstack([batch.tag_scores for batch in batches]), dataset.scores)


def test_bad_score_in_a_later_parquet_row_group_names_its_row(dataset: Dataset) -> None:
    columns = dataset.x_columns()
    columns["sad"][45] = "1.5"
    path = dataset.path("grouped.parquet")
    pq.write_table(pq.read_table(write_parquet(path, columns)), path, row_group_size=10)
    track = dataset.ids[45]
    with pytest.raises(InputError, match=rf"column 'sad', {ID} {track}: value 1\.5 outside"):
        read_scores(path, TAGS, CATEGORIES)
    with pytest.raises(InputError, match=rf"column 'sad', {ID} {track}: value 1\.5 outside"):
        list(iter_scores(path, TAGS, CATEGORIES, batch_rows=16))


def test_missing_category_column_is_optional_unless_required(dataset: Dataset) -> None:
    x_path = write_csv(dataset.path("x_nocat.csv"), dataset.x_columns(), [ID, *TAGS, "rock"])
    scores = read_scores(x_path, TAGS, CATEGORIES)  # 'rock' is a known category: no warning
    assert scores.category_names == ()
    assert scores.category_scores is None
    with pytest.raises(InputError, match=r"x_nocat\.csv: 1 category column\(s\) missing: 'mood'"):
        read_scores(x_path, TAGS, CATEGORIES, require_categories=True)


def test_iter_scores_streams_parquet_in_batches(dataset: Dataset) -> None:
    path = write_parquet(dataset.path("x.parquet"), dataset.x_columns())
    batches = list(iter_scores(path, TAGS, CATEGORIES, batch_rows=16))
    assert [batch.n_tracks for batch in batches] == [16, 16, 16, 12]
    np.testing.assert_array_equal(np.concatenate([batch.ids for batch in batches]), dataset.ids)
    stacked = np.vstack([batch.tag_scores for batch in batches])
    np.testing.assert_allclose(stacked, dataset.scores)
    assert all(batch.category_names == CATEGORIES for batch in batches)


def test_iter_scores_finds_duplicates_across_batches(dataset: Dataset) -> None:
    columns = dataset.x_columns()
    columns[ID][50] = columns[ID][3]
    path = write_parquet(dataset.path("x_dup.parquet"), columns)
    batches = iter_scores(path, TAGS, CATEGORIES, batch_rows=10)
    with pytest.raises(InputError, match=rf"x_dup\.parquet: {ID} appears more than once: "):
        list(batches)


def test_read_groups_aligns_and_chooses_column(dataset: Dataset) -> None:
    columns = dataset.groups_columns()
    columns["artist"] = [f"artist-{row % 4}" for row in range(dataset.n_tracks)]
    order = np.random.default_rng(2).permutation(dataset.n_tracks)
    path = write_csv(dataset.path("groups2.csv"), reorder_rows(columns, order))
    albums = read_groups(path, dataset.ids, ids_source="X", group_by="album")
    assert list(albums) == dataset.albums
    artists = read_groups(path, dataset.ids[:5], ids_source="X", group_by="artist")
    assert list(artists) == [f"artist-{row % 4}" for row in range(5)]
    with pytest.raises(InputError, match=r"groups2\.csv: 2 group columns .*--group-by"):
        read_groups(path, dataset.ids, ids_source="X")
    with pytest.raises(InputError, match=r"groups2\.csv: no group column 'label'"):
        read_groups(path, dataset.ids, ids_source="X", group_by="label")


def test_read_groups_missing_track(dataset: Dataset) -> None:
    columns = dataset.groups_columns()
    missing = columns[ID][7]
    path = write_csv(dataset.path("groups_short.csv"), reorder_rows(columns, [0, 1, 2, 3, 4]))
    with pytest.raises(InputError, match=rf"groups_short\.csv: no group for .* of X: .*{missing}"):
        read_groups(path, dataset.ids, ids_source="X")


# -- errors when reading -----------------------------------------------------------------


def test_missing_empty_and_header_only_files(dataset: Dataset) -> None:
    with pytest.raises(InputError, match=r"nothere\.csv: no such file"):
        read_scores(dataset.path("nothere.csv"), TAGS)
    empty = dataset.path("empty.csv")
    empty.write_bytes(b"")
    with pytest.raises(InputError, match=r"empty\.csv: empty file"):
        read_truth(empty)
    header = dataset.path("header.csv")
    header.write_text(",".join([ID, *TAGS]) + "\n")
    with pytest.raises(InputError, match=r"header\.csv: no tracks \(only a header line\)"):
        read_scores(header, TAGS)
    with pytest.raises(InputError, match=r"header\.csv: no tracks"):
        read_truth(header)
    header_parquet = write_parquet(dataset.path("header.parquet"), {ID: [], "punk": []})
    with pytest.raises(InputError, match=r"header\.parquet: no tracks"):
        read_scores(header_parquet, ["punk"])


def test_unknown_extension_and_unreadable_files(dataset: Dataset) -> None:
    odd = dataset.path("scores.xlsx")
    odd.write_text("whatever")
    with pytest.raises(InputError, match=r"scores\.xlsx: unknown file type"):
        read_columns(odd)
    garbage = dataset.path("garbage.parquet")
    garbage.write_bytes(b"\x00\xff\xfe not parquet at all" * 10)
    with pytest.raises(InputError, match=r"garbage\.parquet: not a readable Parquet file"):
        read_scores(garbage, TAGS)
    binary = dataset.path("binary.csv")
    binary.write_bytes(b"\xff\xfe\x00\x81garbage\x00\n\x00")
    with pytest.raises(InputError, match=r"binary\.csv: not a readable CSV file"):
        read_scores(binary, TAGS)
    no_id = write_csv(dataset.path("no_id.csv"), dataset.x_columns(), list(TAGS))
    with pytest.raises(InputError, match=rf"no_id\.csv: no {ID} column"):
        read_truth(no_id)


def test_malformed_csv_row(dataset: Dataset) -> None:
    path = dataset.path("x_ragged.csv")
    path.write_text(dataset.x_csv.read_text() + "123,0.5\n")
    with pytest.raises(InputError, match=r"x_ragged\.csv: malformed CSV .*Expected 8 columns"):
        read_scores(path, TAGS, CATEGORIES)
    y_path = dataset.path("y_ragged.csv")
    y_path.write_text(dataset.y_csv.read_text() + "123,1,0\n")
    with pytest.raises(InputError, match=r"y_ragged\.csv: malformed CSV .*123,1,0"):
        read_truth(y_path)


def test_malformed_groups_file(dataset: Dataset) -> None:
    path = dataset.path("groups_ragged.csv")
    path.write_text(dataset.groups.read_text() + "5,6,7\n")
    with pytest.raises(InputError, match=r"groups_ragged\.csv: malformed groups file"):
        read_groups(path, dataset.ids, ids_source="X")


def test_duplicated_column_names(dataset: Dataset) -> None:
    path = dataset.path("dup_columns.csv")
    path.write_text(f"{ID},punk,punk\n1,0.1,0.2\n")
    with pytest.raises(InputError, match=r"dup_columns\.csv: column\(s\) appear twice: 'punk'"):
        read_scores(path, ["punk"])


SCORE_CELLS = [
    ("", "empty cell"),
    ("abc", "value 'abc' is not a number"),
    ("nan", "value NaN"),
    ("1.5", r"value 1\.5 outside \[0, 1\]"),
    ("-0.25", r"value -0\.25 outside \[0, 1\]"),
]


@pytest.mark.parametrize(("cell", "problem"), SCORE_CELLS)
def test_bad_score_cell_csv(dataset: Dataset, cell: str, problem: str) -> None:
    columns = dataset.x_columns()
    columns["happy"][17] = cell
    track = columns[ID][17]
    path = write_csv(dataset.path("x_bad.csv"), columns)
    with pytest.raises(InputError, match=rf"x_bad\.csv: column 'happy', {ID} {track}: {problem}"):
        read_scores(path, TAGS, CATEGORIES)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (None, "empty cell"),
        (float("nan"), "value NaN"),
        (1.5, r"value 1\.5 outside \[0, 1\]"),
    ],
)
def test_bad_score_cell_parquet(dataset: Dataset, value: float | None, problem: str) -> None:
    cells: list[float | None] = [float(cell) for cell in dataset.x_columns()["happy"]]
    cells[40] = value
    table = pa.table({ID: pa.array(dataset.ids), "happy": pa.array(cells, type=pa.float64())})
    path = dataset.path("x_bad.parquet")
    pq.write_table(table, path)
    track = int(dataset.ids[40])
    with pytest.raises(
        InputError, match=rf"x_bad\.parquet: column 'happy', {ID} {track}: {problem}"
    ):
        list(iter_scores(path, ["happy"], batch_rows=16))


def test_non_numeric_parquet_column(dataset: Dataset) -> None:
    cells = ["0.5"] * dataset.n_tracks
    cells[9] = "high"
    path = dataset.path("x_text.parquet")
    pq.write_table(pa.table({ID: pa.array(dataset.ids), "punk": pa.array(cells)}), path)
    track = int(dataset.ids[9])
    with pytest.raises(
        InputError, match=rf"x_text\.parquet: column 'punk', {ID} {track}: value 'high'"
    ):
        read_scores(path, ["punk"])


def test_parquet_scores_stored_as_text_or_booleans_are_refused(dataset: Dataset) -> None:
    # Every cell would convert (True as 1.0, "0.5" as 0.5), but a typed file says these
    # columns are not numbers: refused rather than read as scores.
    for name, column, said in [
        ("x_bool.parquet", pa.array([True, False] * (dataset.n_tracks // 2)), "stored as bool"),
        ("x_digits.parquet", pa.array(["0.5"] * dataset.n_tracks), "stored as string"),
    ]:
        path = dataset.path(name)
        pq.write_table(pa.table({ID: pa.array(dataset.ids), "punk": column}), path)
        with pytest.raises(InputError, match=rf"{name}: column 'punk'") as refused:
            read_scores(path, ["punk"])
        assert said in str(refused.value)


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("2", "value 2.0; truth must be 0 or 1"),
        ("0.5", "value 0.5; truth must be 0 or 1"),
        ("yes", "value 'yes' is not a number"),
        ("", "empty cell"),
        # Arrow's integer parser reads these as 1 and 0; they are not 0/1 cells.
        ("0x1", "value '0x1' is not a number"),
        ("0X0", "value '0X0' is not a number"),
    ],
)
def test_bad_truth_cell(dataset: Dataset, cell: str, problem: str) -> None:
    columns = dataset.y_columns()
    columns["sad"][33] = cell
    track = columns[ID][33]
    path = write_csv(dataset.path("y_bad.csv"), columns)
    with pytest.raises(
        InputError, match=rf"y_bad\.csv: column 'sad', {ID} {track}: {re.escape(problem)}"
    ):
        read_truth(path)


def test_tag_missing_from_scores_or_truth(dataset: Dataset) -> None:
    x_path = write_csv(dataset.path("x_short.csv"), dataset.x_columns(), [ID, "punk", "sad"])
    with pytest.raises(InputError, match=r"x_short\.csv: 3 tag column\(s\) missing: 'blues-rock'"):
        read_scores(x_path, TAGS)
    y_path = write_csv(dataset.path("y_short.csv"), dataset.y_columns(), [ID, "punk", "sad"])
    with pytest.raises(InputError, match=r"y_short\.csv: 1 tag column\(s\) missing: 'happy'"):
        read_truth(y_path, ["punk", "happy", "sad"])
    with pytest.raises(InputError, match=r"y_short\.csv: 3 taxonomy tag\(s\) missing"):
        read_labelled(dataset.x_csv, y_path, taxonomy=read_taxonomy(dataset.labels))
    with pytest.raises(InputError, match=r"x_short\.csv: 3 tag column\(s\) missing"):
        read_labelled(x_path, dataset.y_csv)


@pytest.mark.parametrize("which", ["x", "y"])
def test_duplicated_id(dataset: Dataset, which: str) -> None:
    columns = dataset.x_columns() if which == "x" else dataset.y_columns()
    columns[ID][20] = columns[ID][5]
    path = write_csv(dataset.path(f"{which}_dup.csv"), columns)
    duplicate = columns[ID][5]
    message = rf"{which}_dup\.csv: {ID} appears more than once: {duplicate}"
    with pytest.raises(InputError, match=message):
        read_scores(path, TAGS, CATEGORIES) if which == "x" else read_truth(path)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        *[(value, "is not an integer") for value in ["abc", "12.5", "0x10", "0X1f", "12.0", "1e3"]],
        ("+12", "has a sign"),
        ("-5", "has a sign"),
    ],
)
@pytest.mark.parametrize("which", ["x", "y"])
def test_non_integer_id(dataset: Dataset, which: str, value: str, problem: str) -> None:
    columns = dataset.x_columns() if which == "x" else dataset.y_columns()
    columns[ID][11] = value
    path = write_csv(dataset.path(f"{which}_id.csv"), columns)
    message = rf"{which}_id\.csv: {ID} '{re.escape(value)}' on data row 12 {problem}"
    with pytest.raises(InputError, match=message):
        read_scores(path, TAGS, CATEGORIES) if which == "x" else read_truth(path)


def test_whole_float_ids_in_parquet_are_refused(dataset: Dataset) -> None:
    ids = dataset.ids.astype(np.float64)
    path = dataset.path("x_float_ids.parquet")
    pq.write_table(pa.table({ID: pa.array(ids), "punk": pa.array(dataset.scores[:, 1])}), path)
    first = re.escape(str(float(ids[0])))
    with pytest.raises(InputError, match=rf"{ID} {first} on data row 1 is not an integer"):
        read_scores(path, ["punk"])


@pytest.mark.parametrize("cell", ["０.５", "0.5_0", "١"])
@pytest.mark.parametrize("which", ["x", "y"])
def test_digits_python_reads_but_csv_does_not_are_named(
    dataset: Dataset, which: str, cell: str
) -> None:
    # Full-width or Arabic-Indic digits and underscores: Python's float takes them, the CSV
    # reader does not; the refusal must still name the column and the track.
    columns = dataset.x_columns() if which == "x" else dataset.y_columns()
    columns["punk"][7] = cell
    path = write_csv(dataset.path(f"{which}_digits.csv"), columns)
    track = int(dataset.ids[7])
    message = rf"{which}_digits\.csv: column 'punk', {ID} {track}: value '{cell}' is not a number"
    with pytest.raises(InputError, match=message):
        read_scores(path, TAGS, CATEGORIES) if which == "x" else read_truth(path)


def test_a_corrupt_parquet_page_is_named_with_its_file(dataset: Dataset) -> None:
    path = dataset.path("x_corrupt.parquet")
    table = pa.table({ID: pa.array(dataset.ids), "punk": pa.array(dataset.scores[:, 1])})
    pq.write_table(table, path, compression="snappy")
    raw = bytearray(path.read_bytes())
    raw[8:200] = bytes(192)  # the first column chunk's pages, past the magic bytes
    path.write_bytes(bytes(raw))
    with pytest.raises(InputError, match=r"x_corrupt\.parquet: not a readable Parquet file"):
        read_scores(path, ["punk"])


def test_unsigned_ids_beyond_int64_in_parquet_are_named(dataset: Dataset) -> None:
    ids = dataset.ids.astype(np.uint64)
    ids[2] = 2**63
    path = dataset.path("x_uint_ids.parquet")
    pq.write_table(pa.table({ID: pa.array(ids), "punk": pa.array(dataset.scores[:, 1])}), path)
    with pytest.raises(InputError, match=rf"{ID} {2**63} on data row 3 is beyond the 64-bit"):
        read_scores(path, ["punk"])


def test_negative_integer_ids_in_parquet_are_refused(dataset: Dataset) -> None:
    ids = dataset.ids.copy()
    ids[3] = -7
    path = dataset.path("x_negative_ids.parquet")
    pq.write_table(pa.table({ID: pa.array(ids), "punk": pa.array(dataset.scores[:, 1])}), path)
    with pytest.raises(InputError, match=rf"{ID} -7 on data row 4 is negative"):
        read_scores(path, ["punk"])


def test_hex_text_ids_in_parquet_are_refused(dataset: Dataset) -> None:
    ids = [str(int(value)) for value in dataset.ids]
    ids[6] = "0x10"
    path = dataset.path("x_text_ids.parquet")
    pq.write_table(pa.table({ID: pa.array(ids), "punk": pa.array(dataset.scores[:, 1])}), path)
    with pytest.raises(InputError, match=rf"{ID} '0x10' on data row 7 is not an integer"):
        read_scores(path, ["punk"])
    ids[6] = " 17 "  # plain decimal text (spaces around) is fine
    pq.write_table(pa.table({ID: pa.array(ids), "punk": pa.array(dataset.scores[:, 1])}), path)
    assert read_scores(path, ["punk"]).ids[6] == 17


def test_truth_with_an_x_elsewhere_still_reads(dataset: Dataset) -> None:
    """An x outside the tag columns only sends the file the slower, precise way."""
    columns = dataset.y_columns()
    columns["comment"] = ["mix"] * dataset.n_tracks
    path = write_csv(dataset.path("y_comment.csv"), columns)
    table = read_truth(path, TAGS)
    np.testing.assert_array_equal(table.values, dataset.truth)


def test_empty_id_cell(dataset: Dataset) -> None:
    columns = dataset.x_columns()
    columns[ID][4] = ""
    path = write_csv(dataset.path("x_noid.csv"), columns)
    with pytest.raises(InputError, match=rf"x_noid\.csv: empty {ID} on data row 5"):
        read_scores(path, TAGS, CATEGORIES)


def test_non_integer_id_parquet(dataset: Dataset) -> None:
    ids = dataset.ids.astype(np.float64)
    ids[13] = 7.5
    path = dataset.path("x_float_id.parquet")
    pq.write_table(pa.table({ID: pa.array(ids), "punk": pa.array(dataset.scores[:, 1])}), path)
    with pytest.raises(InputError, match=rf"x_float_id\.parquet: {ID} 7\.5 on data row 14"):
        read_scores(path, ["punk"])


def test_ids_differ_between_scores_and_truth(dataset: Dataset) -> None:
    x_columns = dataset.x_columns()
    x_columns[ID][8] = "99999"
    x_path = write_csv(dataset.path("x_other.csv"), x_columns)
    with pytest.raises(
        InputError, match=rf"train_y\.csv: 1 {ID}\(s\) of .*x_other\.csv missing here: 99999"
    ):
        read_labelled(x_path, dataset.y_csv, taxonomy=read_taxonomy(dataset.labels))
    # The other direction: the truth has a track that X lacks.
    x_short = write_csv(
        dataset.path("x_fewer.csv"), reorder_rows(dataset.x_columns(), range(1, dataset.n_tracks))
    )
    extra = dataset.y_columns()[ID][0]
    with pytest.raises(
        InputError, match=rf"train_y\.csv: 1 {ID}\(s\) not in .*x_fewer\.csv: {extra}"
    ):
        read_labelled(x_short, dataset.y_csv, taxonomy=read_taxonomy(dataset.labels))


# -- writing -----------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["csv", "parquet", "jsonl"])
def test_decision_writer_round_trip(dataset: Dataset, format: str) -> None:
    path = dataset.path(f"decisions.{format}")
    decisions = (dataset.scores >= 0.5).astype(np.uint8)
    with DecisionWriter(path, TAGS, format) as writer:  # type: ignore[arg-type]
        writer.write(dataset.ids[:25], decisions[:25])
        writer.write(dataset.ids[25:], decisions[25:])
    assert writer.n_tracks == dataset.n_tracks
    table = read_decisions(path, TAGS)
    np.testing.assert_array_equal(table.ids, dataset.ids)
    np.testing.assert_array_equal(table.values, decisions)
    _no_temporaries(dataset.folder)
    if format == "csv":
        assert path.read_text().splitlines()[0] == ",".join([ID, *TAGS])
    if format == "parquet":
        assert pq.read_schema(path).names == [ID, *TAGS]


def test_decision_writer_jsonl_lines(dataset: Dataset) -> None:
    path = dataset.path("decisions.jsonl")
    with DecisionWriter(path, ["blues-rock", "punk", "happy"], "jsonl") as writer:
        writer.write(np.array([12, 13]), np.array([[1, 0, 1], [0, 0, 0]]))
    lines = path.read_text().splitlines()
    assert lines[0] == '{"ChallengeID": 12, "tags": ["blues-rock", "happy"]}'
    assert json.loads(lines[1]) == {ID: 13, "tags": []}


@pytest.mark.parametrize("format", ["csv", "parquet", "jsonl"])
def test_decision_writer_is_atomic(dataset: Dataset, format: str) -> None:
    path = dataset.path(f"decisions.{format}")
    path.write_bytes(b"previous content\n")
    before = sorted(p.name for p in dataset.folder.iterdir())
    decisions = np.ones((dataset.n_tracks, len(TAGS)), dtype=np.uint8)
    with (
        pytest.raises(RuntimeError, match="disk on fire"),
        DecisionWriter(path, TAGS, format) as writer,  # type: ignore[arg-type]
    ):
        writer.write(dataset.ids, decisions)
        # Nothing appears under the final name while writing.
        assert path.read_bytes() == b"previous content\n"
        raise RuntimeError("disk on fire")
    assert path.read_bytes() == b"previous content\n"
    assert sorted(p.name for p in dataset.folder.iterdir()) == before


def test_decision_writer_new_file_not_created_on_error(dataset: Dataset) -> None:
    path = dataset.path("fresh.csv")
    with pytest.raises(RuntimeError), DecisionWriter(path, TAGS, "csv"):
        raise RuntimeError("stop")
    assert not path.exists()
    _no_temporaries(dataset.folder)


def test_outputs_get_ordinary_permissions(dataset: Dataset) -> None:
    """Atomic writing must not leave outputs private (0600) as temporary files are."""
    plain = dataset.path("plain.txt")
    plain.write_text("x")
    expected = plain.stat().st_mode & 0o777
    with DecisionWriter(dataset.path("d.jsonl"), TAGS, "jsonl") as writer:
        writer.write(dataset.ids, dataset.truth)
    write_matrix(dataset.path("m.parquet"), dataset.ids, TAGS, dataset.scores)
    for name in ("d.jsonl", "m.parquet"):
        assert dataset.path(name).stat().st_mode & 0o777 == expected, name


def test_decision_writer_rejects_unknown_format(dataset: Dataset) -> None:
    with pytest.raises(InputError, match="unknown decisions format 'xml'"):
        DecisionWriter(dataset.path("d.xml"), TAGS, "xml")  # type: ignore[arg-type]


def test_atomic_path_errors(dataset: Dataset) -> None:
    with (
        pytest.raises(InputError, match=r"nowhere/out\.csv: folder .*nowhere does not exist"),
        atomic_path(dataset.path("nowhere") / "out.csv"),
    ):
        pass
    with pytest.raises(InputError, match="is a folder"), atomic_path(dataset.folder):
        pass


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_write_matrix_round_trip(dataset: Dataset, suffix: str) -> None:
    path = dataset.path(f"matrix.{suffix}")
    write_matrix(path, dataset.ids, TAGS, dataset.scores, decimals=4)
    scores = read_scores(path, TAGS)
    np.testing.assert_array_equal(scores.ids, dataset.ids)
    np.testing.assert_allclose(scores.tag_scores, dataset.scores)
    _no_temporaries(dataset.folder)


# -- decisions as JSON lines -------------------------------------------------------------


def test_read_decisions_jsonl(dataset: Dataset) -> None:
    path = dataset.path("d.jsonl")
    path.write_text(
        '{"ChallengeID": 12, "tags": ["blues-rock", "happy"]}\n'
        "\n"
        '{"ChallengeID": 7, "tags": []}\n'
        '{"ChallengeID": 30, "tags": ["calm"]}\n'
    )
    table = read_decisions(path, TAGS)
    np.testing.assert_array_equal(table.ids, [12, 7, 30])
    np.testing.assert_array_equal(table.values, [[1, 0, 1, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 1]])
    assert table.names == TAGS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", r"d\.jsonl: empty file"),
        ("\n\n", r"d\.jsonl: no tracks"),
        (
            '{"ChallengeID": 1, "tags": []}\nnot json\n',
            r"d\.jsonl: line 2: not JSON \(Expecting value at character 1\): 'not json'$",
        ),
        (
            '{"ChallengeID": 1}\n',
            r"d\.jsonl: line 1: expected exactly the keys of .*'ChallengeID'$",
        ),
        (
            '{"ChallengeID": "1", "tags": []}\n',
            r"""d\.jsonl: line 1: ChallengeID '"1"' is not an integer$""",
        ),
        (
            '{"ChallengeID": 1, "tags": "punk"}\n',
            r"""d\.jsonl: line 1: ChallengeID 1: tags must be a list of names, not '"punk"'$""",
        ),
        (
            '{"ChallengeID": 5, "tags": ["punk", "polka"]}\n',
            r"d\.jsonl: line 1, ChallengeID 5: unknown tag\(s\) 'polka'",
        ),
        (
            '{"ChallengeID": 5, "tags": [["punk"]]}\n',
            r"d\.jsonl: line 1: brackets nested deeper than .* at character 29: ",
        ),
        (
            '{"ChallengeID": 5, "tags": ["[[punk]]"]}\n',  # brackets inside a name are text
            r"d\.jsonl: line 1, ChallengeID 5: unknown tag\(s\) '\[\[punk\]\]'$",
        ),
        (
            '{"ChallengeID": 5, "tags": []}\n{"ChallengeID": 5, "tags": ["sad"]}\n',
            r"d\.jsonl: ChallengeID appears more than once: 5",
        ),
    ],
)
def test_read_decisions_jsonl_errors(dataset: Dataset, content: str, message: str) -> None:
    path = dataset.path("d.jsonl")
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        read_decisions(path, TAGS)


@pytest.mark.parametrize(
    ("ids", "named"),
    [
        ([5, 3, 5, 9, 3, 5], "3, 5"),  # a thrice-repeated id is named once, in order
        ([*range(10, 0, -1), *range(1, 11)], "1, 2, 3 and 7 more"),
        ([-(2**63), 2**63 - 1, -(2**63)], str(-(2**63))),  # the int64 extremes
    ],
)
def test_check_unique_names_each_repeated_id_once(ids: list[int], named: str) -> None:
    from tagdecide.io.ids import check_unique

    values = np.array(ids, dtype=np.int64)
    with pytest.raises(InputError, match=rf"^x\.csv: {ID} appears more than once: {named}$"):
        check_unique(values, "x.csv")
    np.testing.assert_array_equal(values, ids)  # the caller's ids are left in their order
    check_unique(np.unique(values), "x.csv")  # the same ids once each: nothing to report
