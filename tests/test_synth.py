"""Tests of the synthetic catalogue generator (``tagdecide.synth``)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from tagdecide.cli import main
from tagdecide.errors import InputError
from tagdecide.synth import (
    DEFAULT_N_TRACKS,
    TRAINING_SCORES,
    SyntheticCatalogue,
    SyntheticSplit,
    demo_taxonomy,
    make_catalogue,
)

# Small enough to keep the whole module at a few seconds, large enough for the statistics.
N_TRACKS = 1500


@pytest.fixture(scope="module")
def catalogue() -> SyntheticCatalogue:
    return make_catalogue(N_TRACKS, seed=0)


def splits(catalogue: SyntheticCatalogue) -> list[SyntheticSplit]:
    return [catalogue.train, catalogue.test]


def class_columns(catalogue: SyntheticCatalogue, class_name: str) -> np.ndarray:
    return np.flatnonzero(np.asarray(catalogue.taxonomy.tag_classes) == class_name)


# --- the taxonomy -------------------------------------------------------------------------


def test_demo_taxonomy_has_the_reference_shape() -> None:
    taxonomy = demo_taxonomy()
    assert taxonomy.classes == ("Genres", "Instruments", "Moods")
    assert 35 <= len(taxonomy.categories) <= 45
    assert 230 <= len(taxonomy.tags) <= 260
    assert not set(taxonomy.tags) & set(taxonomy.categories)
    assert len(set(taxonomy.tags)) == len(taxonomy.tags)


def test_demo_taxonomy_names_are_lowercase_hyphenated_and_prefixed_by_class() -> None:
    taxonomy = demo_taxonomy()
    for name in (*taxonomy.tags, *taxonomy.categories):
        assert name == name.lower() and " " not in name and "_" not in name, name
    for category in taxonomy.categories:
        assert category.startswith(taxonomy.class_of_category(category).lower() + "-"), category


def test_every_class_has_several_categories_of_several_tags() -> None:
    taxonomy = demo_taxonomy()
    for class_name in taxonomy.classes:
        categories = [c for c in taxonomy.categories if taxonomy.class_of_category(c) == class_name]
        assert len(categories) >= 5
    sizes = [taxonomy.tag_categories.count(category) for category in taxonomy.categories]
    assert min(sizes) >= 2


# --- shapes, types, ranges -----------------------------------------------------------------


def test_splits_have_the_documented_shapes_and_types(catalogue: SyntheticCatalogue) -> None:
    n_tags = len(catalogue.taxonomy.tags)
    n_categories = len(catalogue.taxonomy.categories)
    assert len(catalogue.train.ids) + len(catalogue.test.ids) == N_TRACKS
    for split in splits(catalogue):
        n_tracks = len(split.ids)
        assert n_tracks > 0
        assert split.ids.shape == (n_tracks,) and split.ids.dtype == np.int64
        assert split.albums.shape == (n_tracks,) and split.albums.dtype == np.int64
        assert split.tag_scores.shape == (n_tracks, n_tags)
        assert split.tag_scores.dtype == np.float64
        assert split.category_scores.shape == (n_tracks, n_categories)
        assert split.category_scores.dtype == np.float64
        assert split.truth.shape == (n_tracks, n_tags) and split.truth.dtype == np.uint8


def test_scores_are_strictly_inside_zero_one_and_truth_is_binary(
    catalogue: SyntheticCatalogue,
) -> None:
    for split in splits(catalogue):
        for scores in (split.tag_scores, split.category_scores):
            assert np.all(scores > 0.0) and np.all(scores < 1.0)
            assert np.all(np.isfinite(scores))
        assert set(np.unique(split.truth).tolist()) == {0, 1}


def test_test_fraction_is_respected_up_to_album_granularity() -> None:
    for test_fraction in (0.1, 0.5):
        catalogue = make_catalogue(600, seed=4, test_fraction=test_fraction)
        share = len(catalogue.test.ids) / 600
        # One album holds at most 15 tracks: 2.5 % of 600.
        assert abs(share - test_fraction) <= 0.03


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_gives_identical_arrays(catalogue: SyntheticCatalogue) -> None:
    again = make_catalogue(N_TRACKS, seed=0)
    assert again.taxonomy == catalogue.taxonomy
    for first, second in zip(splits(catalogue), splits(again), strict=True):
        for field in ("ids", "tag_scores", "category_scores", "truth", "albums"):
            np.testing.assert_array_equal(getattr(first, field), getattr(second, field))


def test_different_seeds_give_different_data(catalogue: SyntheticCatalogue) -> None:
    other = make_catalogue(N_TRACKS, seed=1)
    assert not np.array_equal(catalogue.train.ids, other.train.ids)
    assert not np.allclose(
        catalogue.test.tag_scores.mean(axis=0), other.test.tag_scores.mean(axis=0)
    )


# --- albums and the split ------------------------------------------------------------------


def test_train_and_test_share_no_track_and_no_album(catalogue: SyntheticCatalogue) -> None:
    train, test = catalogue.train, catalogue.test
    assert len(np.unique(train.ids)) == len(train.ids)
    assert len(np.unique(test.ids)) == len(test.ids)
    assert not set(train.ids.tolist()) & set(test.ids.tolist())
    assert not set(train.albums.tolist()) & set(test.albums.tolist())


def test_albums_hold_five_to_fifteen_tracks(catalogue: SyntheticCatalogue) -> None:
    albums = np.concatenate([catalogue.train.albums, catalogue.test.albums])
    sizes = np.unique(albums, return_counts=True)[1]
    assert sizes.max() <= 15
    # Only the catalogue's last album may be cut short.
    assert (sizes < 5).sum() <= 1
    assert len(sizes) >= N_TRACKS / 15


# --- the truth -----------------------------------------------------------------------------


def test_category_truth_is_any_of_the_category_tags(catalogue: SyntheticCatalogue) -> None:
    taxonomy = catalogue.taxonomy
    tag_categories = np.asarray(taxonomy.tag_categories)
    truth = catalogue.train.truth
    expected = np.column_stack(
        [truth[:, tag_categories == category].max(axis=1) for category in taxonomy.categories]
    )
    np.testing.assert_array_equal(taxonomy.category_truth(truth, taxonomy.tags), expected)


def test_category_scores_rank_the_category_truth(catalogue: SyntheticCatalogue) -> None:
    # The networks learned each category as "any of its tags": their category columns rank
    # that truth well, and far better than the truth of a neighbouring category.
    taxonomy, test = catalogue.taxonomy, catalogue.test
    category_truth = taxonomy.category_truth(test.truth, taxonomy.tags)
    shifted_truth = np.roll(category_truth, 1, axis=1)

    def mean_auc(truth: np.ndarray) -> float:
        usable = [j for j in range(truth.shape[1]) if 5 <= truth[:, j].sum() <= truth.shape[0] - 5]
        return float(
            np.mean([roc_auc_score(truth[:, j], test.category_scores[:, j]) for j in usable])
        )

    own = mean_auc(category_truth)
    assert own > 0.68
    assert own > mean_auc(shifted_truth) + 0.1


def test_tracks_carry_several_tags_per_class(catalogue: SyntheticCatalogue) -> None:
    truth = catalogue.train.truth
    expected_means = {"Genres": (2.0, 5.0), "Instruments": (3.0, 8.0), "Moods": (2.0, 4.0)}
    for class_name, (low, high) in expected_means.items():
        tags_per_track = truth[:, class_columns(catalogue, class_name)].sum(axis=1)
        assert low <= tags_per_track.mean() <= high, class_name
    moods_per_track = truth[:, class_columns(catalogue, "Moods")].sum(axis=1)
    assert 0 < (moods_per_track == 0).mean() < 0.3


def test_tag_frequencies_are_uneven_with_rare_and_absent_tags(
    catalogue: SyntheticCatalogue,
) -> None:
    train_counts = catalogue.train.truth.sum(axis=0)
    assert (train_counts == 0).sum() >= 1
    assert ((train_counts > 0) & (train_counts < 10)).sum() >= 1
    assert train_counts.max() >= 20 * np.median(train_counts)
    assert train_counts.max() <= 0.8 * len(catalogue.train.ids)


def test_tags_correlate_across_classes(catalogue: SyntheticCatalogue) -> None:
    truth = catalogue.train.truth.astype(np.float64)
    genres = truth[:, class_columns(catalogue, "Genres")]
    for class_name in ("Instruments", "Moods"):
        others = truth[:, class_columns(catalogue, class_name)]
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = np.corrcoef(genres.T, others.T)[: genres.shape[1], genres.shape[1] :]
        assert np.nanmax(np.abs(correlation)) > 0.2, class_name


# --- the scores ----------------------------------------------------------------------------


def weighted_f1_at_half(split: SyntheticSplit) -> float:
    decisions = split.tag_scores >= 0.5
    return float(f1_score(split.truth, decisions, average="weighted", zero_division=0))


def test_training_scores_are_more_optimistic_than_test_scores(
    catalogue: SyntheticCatalogue,
) -> None:
    train_f1 = weighted_f1_at_half(catalogue.train)
    test_f1 = weighted_f1_at_half(catalogue.test)
    assert train_f1 > test_f1
    # Informative scores, not noise.
    assert test_f1 > 0.15


def test_scores_are_not_the_truth(catalogue: SyntheticCatalogue) -> None:
    assert weighted_f1_at_half(catalogue.train) < 0.8


# --- arguments -----------------------------------------------------------------------------


def test_default_size_is_a_few_thousand_tracks() -> None:
    assert 4000 <= DEFAULT_N_TRACKS <= 12_000


@pytest.mark.parametrize("n_tracks", [0, 10, 59, -5])
def test_too_few_tracks_is_an_input_error(n_tracks: int) -> None:
    with pytest.raises(InputError, match=r"n_tracks=.* too small to hold a training and a test"):
        make_catalogue(n_tracks)


@pytest.mark.parametrize("n_tracks", [100.0, "1000", True])
def test_non_integer_track_count_is_an_input_error(n_tracks: object) -> None:
    with pytest.raises(InputError, match="n_tracks must be an integer"):
        make_catalogue(n_tracks)  # type: ignore[arg-type]


@pytest.mark.parametrize("test_fraction", [0.0, 1.0, -0.25, 1.5, math.nan])
def test_test_fraction_outside_zero_one_is_an_input_error(test_fraction: float) -> None:
    with pytest.raises(InputError, match="test_fraction must be strictly between 0 and 1"):
        make_catalogue(200, test_fraction=test_fraction)


def test_non_integer_seed_is_an_input_error() -> None:
    with pytest.raises(InputError, match="seed must be an integer"):
        make_catalogue(200, seed=1.5)  # type: ignore[arg-type]


# --- the variants --------------------------------------------------------------------------

# catalogue_hash of make_catalogue(600, seed=seed): the default catalogue must not change
# (tests and benchmarks depend on it). Exact-float hashes, taken before the variants existed,
# broke on a machine with another BLAS kernel; these were recorded in the portable form from
# the same code (synth.py unchanged since the artist strength).
DEFAULT_HASHES = {
    0: "dfbe1a5c36ba90267945f657373b0461d9fd97ad2a5d18470ea9be307484d308",
    1: "7db72d611584b369d05d393f7a73cec76d03a13113ac3420312da7f337c1a1af",
}
FIELDS = ("ids", "tag_scores", "category_scores", "truth", "albums")


def catalogue_hash(catalogue: SyntheticCatalogue) -> str:
    """sha256 of every array, the scores rounded to 4 decimals: exact floats depend on the
    machine's BLAS kernel (the synthetic networks' training amplifies last-bit differences),
    4 decimals do not (checked under OpenBLAS's Haswell, Sandybridge and Prescott kernels)."""
    digest = hashlib.sha256()
    for part in splits(catalogue):
        for name in FIELDS:
            array = np.ascontiguousarray(getattr(part, name))
            if array.dtype.kind == "f":
                array = np.round(array, 4)
            digest.update(name.encode())
            digest.update(str(array.dtype).encode())
            digest.update(str(array.shape).encode())
            digest.update(array.tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("seed", sorted(DEFAULT_HASHES))
def test_default_catalogue_is_unchanged_by_the_variants(seed: int) -> None:
    default = make_catalogue(600, seed=seed)
    assert catalogue_hash(default) == DEFAULT_HASHES[seed]
    explicit = make_catalogue(600, seed=seed, training_scores="in-sample", artists=False)
    assert catalogue_hash(explicit) == DEFAULT_HASHES[seed]
    for split in splits(default):
        np.testing.assert_array_equal(split.artists, split.albums)
    assert default.training_scores == "in-sample" and not default.has_artists


@pytest.fixture(scope="module")
def variants() -> dict[tuple[str, bool], SyntheticCatalogue]:
    return {
        (training_scores, artists): make_catalogue(
            600, seed=2, training_scores=training_scores, artists=artists
        )
        for training_scores in TRAINING_SCORES
        for artists in (False, True)
    }


def test_variants_have_the_documented_shapes_and_disjoint_splits(
    variants: dict[tuple[str, bool], SyntheticCatalogue],
) -> None:
    for (training_scores, artists), catalogue in variants.items():
        assert catalogue.training_scores == training_scores
        assert catalogue.has_artists == artists
        train, test = catalogue.train, catalogue.test
        assert len(train.ids) + len(test.ids) == 600
        assert not set(train.ids.tolist()) & set(test.ids.tolist())
        assert not set(train.albums.tolist()) & set(test.albums.tolist())
        assert not set(train.artists.tolist()) & set(test.artists.tolist())
        for split in splits(catalogue):
            assert split.artists.shape == split.ids.shape and split.artists.dtype == np.int64
            assert split.tag_scores.shape == (len(split.ids), len(catalogue.taxonomy.tags))
            assert np.all(split.tag_scores > 0.0) and np.all(split.tag_scores < 1.0)
            # An album belongs to one artist.
            pairs = set(zip(split.albums.tolist(), split.artists.tolist(), strict=True))
            assert len(pairs) == len(set(split.albums.tolist()))


def test_artists_hold_one_to_four_albums(
    variants: dict[tuple[str, bool], SyntheticCatalogue],
) -> None:
    catalogue = variants[("in-sample", True)]
    albums = np.concatenate([catalogue.train.albums, catalogue.test.albums])
    artists = np.concatenate([catalogue.train.artists, catalogue.test.artists])
    albums_per_artist = [len(set(albums[artists == a].tolist())) for a in np.unique(artists)]
    assert min(albums_per_artist) >= 1 and max(albums_per_artist) <= 4
    assert np.mean(albums_per_artist) > 1.5


def mean_log_loss(split: SyntheticSplit) -> float:
    scores, truth = split.tag_scores, split.truth
    return float(-np.mean(truth * np.log(scores) + (1 - truth) * np.log(1 - scores)))


@pytest.mark.parametrize("artists", [False, True])
def test_cross_fitted_training_scores_are_less_confident_than_in_sample_ones(
    variants: dict[tuple[str, bool], SyntheticCatalogue], artists: bool
) -> None:
    in_sample = variants[("in-sample", artists)]
    cross_fitted = variants[("cross-fitted", artists)]
    # Same world, same tracks (other ids, other row order): only the scores differ.
    np.testing.assert_array_equal(
        in_sample.train.truth.sum(axis=0), cross_fitted.train.truth.sum(axis=0)
    )
    assert mean_log_loss(cross_fitted.train) > mean_log_loss(in_sample.train) * 1.05
    # Test scores come from networks trained on all training tracks in both worlds.
    np.testing.assert_allclose(
        mean_log_loss(cross_fitted.test), mean_log_loss(in_sample.test), rtol=0.05
    )


def test_unknown_training_scores_is_an_input_error() -> None:
    with pytest.raises(InputError, match="training_scores must be one of in-sample, cross-fitted"):
        make_catalogue(200, training_scores="out-of-sample")


def test_non_bool_artists_is_an_input_error() -> None:
    with pytest.raises(InputError, match="artists must be True or False"):
        make_catalogue(200, artists="yes")  # type: ignore[arg-type]


# --- the synth command ---------------------------------------------------------------------


def test_synth_command_writes_artists_in_the_groups_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "synth",
            "--out",
            str(tmp_path),
            "--tracks",
            "200",
            "--seed",
            "3",
            "--training-scores",
            "cross-fitted",
            "--artists",
            "--quiet",
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    expected = make_catalogue(200, seed=3, training_scores="cross-fitted", artists=True)
    for name, split in (("train", expected.train), ("test", expected.test)):
        lines = (tmp_path / f"{name}_groups.csv").read_text().splitlines()
        assert lines[0] == "ChallengeID,album,artist"
        assert lines[1] == f"{split.ids[0]},album-{split.albums[0]},artist-{split.artists[0]}"
        assert len(lines) == len(split.ids) + 1


def test_synth_command_without_artists_writes_albums_only(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["synth", "--out", str(tmp_path), "--tracks", "100"]) == 0
    assert "wrote" in capsys.readouterr().err
    header = (tmp_path / "train_groups.csv").read_text().splitlines()[0]
    assert header == "ChallengeID,album"


def test_synth_command_rejects_unknown_training_scores_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["synth", "--out", str(tmp_path), "--tracks", "100", "--training-scores", "x"])
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("tagdecide: error: training_scores must be one of")


# --- the artist strength -------------------------------------------------------------------

# catalogue_hash of make_catalogue(600, seed=seed, training_scores=..., artists=True), with
# artist_strength's default: strength 1 must leave these arrays unchanged.
ARTIST_HASHES = {
    ("in-sample", 0): "d6bd3c10a1b00e5b6d7e5d7349a8d9a7fb4ad4b98bcc36d2efe00a518c196c78",
    ("in-sample", 1): "aaa001588329537889d60050abf650a3ad4caf5406c493e9b1c28549784182db",
    ("cross-fitted", 0): "a4f4087ce18763b700cf9bd3ec6a4dbcafddd7f99b0d7272034fedfb2ffd0f16",
}


@pytest.mark.parametrize(("training_scores", "seed"), sorted(ARTIST_HASHES))
def test_artist_strength_one_leaves_the_artist_catalogue_unchanged(
    training_scores: str, seed: int
) -> None:
    expected = ARTIST_HASHES[(training_scores, seed)]
    default = make_catalogue(600, seed=seed, training_scores=training_scores, artists=True)
    assert catalogue_hash(default) == expected
    explicit = make_catalogue(
        600, seed=seed, training_scores=training_scores, artists=True, artist_strength=1.0
    )
    assert catalogue_hash(explicit) == expected
    for first, second in zip(splits(default), splits(explicit), strict=True):
        np.testing.assert_array_equal(first.artists, second.artists)


def test_artist_strength_one_without_artists_leaves_the_default_catalogue_unchanged() -> None:
    explicit = make_catalogue(600, seed=0, artists=False, artist_strength=1.0)
    assert catalogue_hash(explicit) == DEFAULT_HASHES[0]


def shared_tags_per_artist(catalogue: SyntheticCatalogue) -> float:
    """Mean, over artists of at least 10 tracks, of the tags at least 80 % of the
    artist's tracks carry."""
    truth = np.vstack([catalogue.train.truth, catalogue.test.truth])
    artists = np.concatenate([catalogue.train.artists, catalogue.test.artists])
    counts = [
        int((truth[artists == artist].mean(axis=0) >= 0.8).sum())
        for artist in np.unique(artists)
        if (artists == artist).sum() >= 10
    ]
    return float(np.mean(counts))


def test_stronger_artists_share_more_tags_and_hold_more_albums() -> None:
    catalogues = {
        strength: make_catalogue(800, seed=2, artists=True, artist_strength=strength)
        for strength in (1.0, 3.0)
    }
    shared = {strength: shared_tags_per_artist(c) for strength, c in catalogues.items()}
    # Measured: 2.0 tags at strength 1, 3.1 at strength 3.
    assert shared[3.0] > 1.3 * shared[1.0]
    for strength, catalogue in catalogues.items():
        albums = np.concatenate([catalogue.train.albums, catalogue.test.albums])
        artists = np.concatenate([catalogue.train.artists, catalogue.test.artists])
        per_artist = [len(set(albums[artists == a].tolist())) for a in np.unique(artists)]
        assert max(per_artist) <= max(4, round(4 * strength))
    largest = {
        strength: np.bincount(np.concatenate([c.train.artists, c.test.artists])).max()
        for strength, c in catalogues.items()
    }
    assert largest[3.0] > largest[1.0]


@pytest.mark.parametrize("artist_strength", [0.0, -1.0, math.nan, math.inf, True, "2"])
def test_artist_strength_must_be_a_positive_finite_number(artist_strength: object) -> None:
    with pytest.raises(InputError, match="artist_strength must be a positive, finite number"):
        make_catalogue(200, artists=True, artist_strength=artist_strength)  # type: ignore[arg-type]


def test_artist_strength_without_artists_is_an_input_error() -> None:
    with pytest.raises(InputError, match=r"artist_strength=2\.0 needs artists=True"):
        make_catalogue(200, artist_strength=2.0)


def test_synth_command_passes_the_artist_strength(tmp_path: Path) -> None:
    code = main(
        ["synth", "--out", str(tmp_path), "--tracks", "200", "--seed", "3", "--artists"]
        + ["--artist-strength", "3", "--quiet"]
    )
    assert code == 0
    expected = make_catalogue(200, seed=3, artists=True, artist_strength=3.0)
    lines = (tmp_path / "train_groups.csv").read_text().splitlines()
    split = expected.train
    assert lines[1] == f"{split.ids[0]},album-{split.albums[0]},artist-{split.artists[0]}"


def test_synth_command_rejects_artist_strength_without_artists_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["synth", "--out", str(tmp_path), "--tracks", "100", "--artist-strength", "2"])
    assert code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith("tagdecide: error: artist_strength=2.0 needs artists=True")
