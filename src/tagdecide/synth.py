"""A synthetic production-music catalogue with real neural-network scores.

The demo and the tests need data shaped like the reference data set without shipping it.
:func:`make_catalogue` builds one from a small generative story:

1. Tracks come in albums of 5 to 15 tracks. Each album draws a latent *style* (a point near
   one or two genre centres); each track is its album's style plus track noise.
2. The truth of every tag is a Bernoulli draw whose probability depends on the track's
   style. Tags of one category point in similar style directions, and instrument and mood
   categories lean on genre directions, so tags are correlated within and across classes.
   Tag frequencies are very uneven: a few common tags, many rare ones, some with no
   positives at all.
3. Each track gets audio-like features: a noisy, partly non-linear function of its style,
   plus an album-level "production" offset that says nothing about the tags. Each class's
   network listens to its own noisy view of the audio.
4. One small :class:`~sklearn.neural_network.MLPClassifier` per class (Genres, Instruments,
   Moods) learns that class's tags and categories from the training albums. Training
   tracks are scored in-sample, test tracks out-of-sample, so training scores are more
   confident than test scores, as with real auto-tagging networks.

The test split holds whole albums that the training split does not have.

Two keyword options change the world, each on its own axis (the default is the story above):

- ``training_scores="cross-fitted"``: the training tracks are scored out-of-sample. Their
  artists (albums, without ``artists``) are dealt into 5 folds; each fold's tracks are scored
  by networks trained on the other 4 folds. Test tracks are scored by networks trained on
  all training tracks, as in the default. Training scores then look like test scores, as
  with real networks whose labelled set was not their training set.
- ``artists=True``: albums belong to artists of 1 to 4 albums. An artist's albums share
  its style, an audio signature the networks hear, and idiosyncratic tag propensities that
  style does not explain (a logit shift on a few tags). The test split holds whole artists
  the training split does not have, so artist fingerprints learnt on training tracks do
  not transfer. ``artist_strength`` scales these effects: the logit shift and the audio
  signature grow in proportion, and above 1 artists hold up to ``4 * artist_strength``
  albums (fewer, larger artists, whose fingerprints a model over all scores can learn).
  Even at strength 6, stacking over all scores does not lose for new artists as it does on
  real networks' scores (``benchmarks/artist_corner.py``).

Examples
--------
>>> from tagdecide.synth import make_catalogue
>>> catalogue = make_catalogue(300, seed=3)
>>> catalogue.train.tag_scores.shape[1] == len(catalogue.taxonomy.tags)
True
>>> catalogue.test.category_scores.shape[1] == len(catalogue.taxonomy.categories)
True
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier
from threadpoolctl import threadpool_limits

from tagdecide._validation import check_seed
from tagdecide.errors import InputError
from tagdecide.taxonomy import Taxonomy

__all__ = [
    "DEFAULT_N_TRACKS",
    "TRAINING_SCORES",
    "SyntheticCatalogue",
    "SyntheticSplit",
    "demo_taxonomy",
    "make_catalogue",
]

DEFAULT_N_TRACKS: int = 8000
"""Tracks in the default catalogue (training and test together)."""

TRAINING_SCORES: tuple[str, ...] = ("in-sample", "cross-fitted")
"""How the training tracks can be scored (see :func:`make_catalogue`)."""

# The demo taxonomy: class -> category -> tags. 18 + 15 + 8 categories, 90 + 112 + 46 tags.
GENRES: dict[str, list[str]] = {
    "genres-rock": [
        "classic-rock",
        "hard-rock",
        "indie-rock",
        "alternative-rock",
        "punk-rock",
        "garage-rock",
        "psychedelic-rock",
        "progressive-rock",
        "southern-rock",
        "post-rock",
    ],
    "genres-electronic": [
        "house",
        "techno",
        "trance",
        "drum-and-bass",
        "dubstep",
        "electro",
        "synthwave",
        "idm",
        "breakbeat",
        "chillwave",
    ],
    "genres-jazz": [
        "swing",
        "bebop",
        "cool-jazz",
        "jazz-fusion",
        "smooth-jazz",
        "big-band",
        "gypsy-jazz",
    ],
    "genres-pop": [
        "dance-pop",
        "synth-pop",
        "indie-pop",
        "electropop",
        "pop-ballad",
        "bubblegum-pop",
    ],
    "genres-orchestral": [
        "film-score",
        "epic-orchestral",
        "neoclassical",
        "baroque",
        "romantic-era",
        "minimalism",
    ],
    "genres-ambient": ["dark-ambient", "drone", "new-age", "space-ambient"],
    "genres-hip-hop": ["boom-bap", "trap", "lo-fi-hip-hop", "old-school-rap", "grime"],
    "genres-rnb": ["contemporary-rnb", "neo-soul", "soul", "motown"],
    "genres-funk": ["p-funk", "funk-rock", "electro-funk", "jazz-funk"],
    "genres-blues": ["delta-blues", "chicago-blues", "blues-rock"],
    "genres-country": [
        "bluegrass",
        "americana",
        "honky-tonk",
        "country-pop",
        "outlaw-country",
    ],
    "genres-folk": ["indie-folk", "contemporary-folk", "celtic-folk"],
    "genres-latin": ["salsa", "bossa-nova", "tango", "reggaeton", "cumbia", "flamenco"],
    "genres-reggae": ["roots-reggae", "dub", "ska"],
    "genres-world": ["afrobeat", "bollywood", "middle-eastern", "east-asian-traditional"],
    "genres-lounge": ["lounge", "exotica", "easy-listening"],
    "genres-disco": ["classic-disco", "nu-disco", "italo-disco"],
    "genres-metal": ["heavy-metal", "thrash-metal", "doom-metal", "metalcore"],
}
INSTRUMENTS: dict[str, list[str]] = {
    "instruments-vocals": [
        "male-vocals",
        "female-vocals",
        "choir",
        "children-choir",
        "backing-vocals",
        "rap-vocals",
        "spoken-word",
        "whispered-vocals",
        "falsetto",
        "vocal-harmonies",
        "vocal-chops",
    ],
    "instruments-plucked-strings": [
        "acoustic-guitar",
        "electric-guitar",
        "distorted-guitar",
        "clean-guitar",
        "slide-guitar",
        "bass-guitar",
        "upright-bass",
        "banjo",
        "mandolin",
        "ukulele",
        "harp",
        "sitar",
    ],
    "instruments-bowed-strings": [
        "violin",
        "viola",
        "cello",
        "contrabass",
        "fiddle",
        "string-section",
    ],
    "instruments-brass": [
        "trumpet",
        "trombone",
        "french-horn",
        "tuba",
        "muted-trumpet",
        "brass-section",
    ],
    "instruments-woodwinds": [
        "flute",
        "piccolo",
        "clarinet",
        "oboe",
        "bassoon",
        "alto-saxophone",
        "tenor-saxophone",
        "recorder",
        "pan-flute",
    ],
    "instruments-keyboards": [
        "acoustic-piano",
        "electric-piano",
        "church-organ",
        "hammond-organ",
        "harpsichord",
        "accordion",
        "celesta",
    ],
    "instruments-synthesizers": [
        "analog-synth",
        "synth-pad",
        "synth-lead",
        "synth-bass",
        "arpeggiated-synth",
        "sub-bass",
        "fm-synth",
        "chiptune-sounds",
        "vocoder",
    ],
    "instruments-drums": [
        "drum-kit",
        "brushed-drums",
        "electronic-drums",
        "drum-machine",
        "programmed-beats",
    ],
    "instruments-percussion": [
        "congas",
        "bongos",
        "djembe",
        "tabla",
        "shaker",
        "tambourine",
        "cajon",
        "timpani",
        "hand-claps",
        "taiko",
    ],
    "instruments-mallets": [
        "xylophone",
        "marimba",
        "vibraphone",
        "glockenspiel",
        "tubular-bells",
        "steel-drums",
        "kalimba",
    ],
    "instruments-ensembles": [
        "full-orchestra",
        "chamber-orchestra",
        "string-quartet",
        "jazz-combo",
        "marching-band",
        "rock-band",
        "folk-ensemble",
        "brass-band",
    ],
    "instruments-sound-design": [
        "sound-effects",
        "risers",
        "impacts",
        "glitch-effects",
        "field-recordings",
        "ambient-textures",
    ],
    "instruments-world-instruments": [
        "bagpipes",
        "didgeridoo",
        "koto",
        "erhu",
        "oud",
        "bouzouki",
    ],
    "instruments-free-reeds-and-whistles": [
        "harmonica",
        "melodica",
        "tin-whistle",
        "ocarina",
        "bandoneon",
    ],
    "instruments-electronic-others": [
        "turntable-scratches",
        "vinyl-crackle",
        "tape-loops",
        "theremin",
        "music-box",
    ],
}
MOODS: dict[str, list[str]] = {
    "moods-calm": [
        "peaceful",
        "relaxed",
        "serene",
        "dreamy",
        "meditative",
        "soothing",
        "gentle",
    ],
    "moods-happy": [
        "joyful",
        "cheerful",
        "playful",
        "uplifting",
        "carefree",
        "optimistic",
        "festive",
        "bright",
    ],
    "moods-energetic": ["powerful", "driving", "aggressive", "exciting", "bold", "triumphant"],
    "moods-sad": ["melancholic", "sorrowful", "nostalgic", "lonely", "bittersweet", "mournful"],
    "moods-dark": ["ominous", "sinister", "menacing", "eerie", "brooding"],
    "moods-tense": ["suspenseful", "anxious", "urgent", "mysterious", "restless"],
    "moods-romantic": ["tender", "sensual", "loving", "intimate", "passionate"],
    "moods-epic": ["heroic", "majestic", "grandiose", "inspiring"],
}
TAXONOMY_TREE: dict[str, dict[str, list[str]]] = {
    "Genres": GENRES,
    "Instruments": INSTRUMENTS,
    "Moods": MOODS,
}

# The genres each instrument and mood category is common in. This is what makes a genre
# pull some instruments and moods along (brass in jazz and funk, dark moods in metal...).
GENRE_AFFINITIES: dict[str, tuple[str, ...]] = {
    "instruments-vocals": ("genres-pop", "genres-rnb", "genres-hip-hop", "genres-country"),
    "instruments-plucked-strings": (
        "genres-rock",
        "genres-folk",
        "genres-country",
        "genres-blues",
        "genres-metal",
    ),
    "instruments-bowed-strings": ("genres-orchestral", "genres-folk", "genres-country"),
    "instruments-brass": ("genres-jazz", "genres-funk", "genres-orchestral", "genres-latin"),
    "instruments-woodwinds": ("genres-orchestral", "genres-jazz", "genres-world"),
    "instruments-keyboards": ("genres-jazz", "genres-blues", "genres-lounge", "genres-rnb"),
    "instruments-synthesizers": (
        "genres-electronic",
        "genres-pop",
        "genres-disco",
        "genres-ambient",
    ),
    "instruments-drums": ("genres-rock", "genres-funk", "genres-disco", "genres-metal"),
    "instruments-percussion": ("genres-latin", "genres-world", "genres-reggae"),
    "instruments-mallets": ("genres-lounge", "genres-jazz", "genres-ambient"),
    "instruments-ensembles": ("genres-orchestral", "genres-jazz", "genres-rock"),
    "instruments-sound-design": ("genres-ambient", "genres-electronic", "genres-orchestral"),
    "instruments-world-instruments": ("genres-world", "genres-folk"),
    "instruments-free-reeds-and-whistles": ("genres-folk", "genres-blues", "genres-latin"),
    "instruments-electronic-others": ("genres-hip-hop", "genres-electronic", "genres-lounge"),
    "moods-calm": ("genres-ambient", "genres-lounge", "genres-folk"),
    "moods-happy": ("genres-pop", "genres-disco", "genres-latin", "genres-reggae"),
    "moods-energetic": ("genres-rock", "genres-metal", "genres-electronic", "genres-funk"),
    "moods-sad": ("genres-folk", "genres-blues", "genres-rnb"),
    "moods-dark": ("genres-metal", "genres-ambient", "genres-hip-hop"),
    "moods-tense": ("genres-orchestral", "genres-electronic", "genres-ambient"),
    "moods-romantic": ("genres-rnb", "genres-jazz", "genres-latin", "genres-lounge"),
    "moods-epic": ("genres-orchestral", "genres-metal", "genres-rock"),
}

# Album sizes, inclusive.
_ALBUM_SIZES = (5, 15)
# Fewer tracks than this cannot give both splits a few albums and the networks something
# to learn from.
_MIN_TRACKS = 60
#: Most tracks a synthetic catalogue may have: about 1.6 kB of arrays per track, so 2 million
#: need some 3 GB; a typo such as 10**12 is refused rather than failing to allocate.
_MAX_TRACKS = 2_000_000
# Dimension of the latent style space.
_STYLE_DIMENSION = 16
# Distance between genre centres; how fast genre popularity falls with its rank in GENRES.
_GENRE_SEPARATION = 1.6
_GENRE_POPULARITY_EXPONENT = 0.9
# Weight of an instrument or mood category's own direction next to its genres' mixture,
# and how far a tag's direction strays from its category's.
_OWN_DIRECTION_WEIGHT = 0.7
_TAG_DEVIATION = 0.6
# Spread of album styles around their genre centre, and of tracks around their album.
_ALBUM_SPREAD = 0.8
_TRACK_SPREAD = 0.5
# How sharply a tag's probability follows its style direction (logit per unit projection).
_TAG_SHARPNESS = (0.7, 2.0)
# Mean number of positive tags per track and class, and the Zipf exponent of tag frequencies.
_MEAN_TAGS_PER_TRACK = {"Genres": 3.0, "Instruments": 5.0, "Moods": 2.8}
_ZIPF_EXPONENT = 0.95
_MAX_PREVALENCE = 0.7
# Which tags get the frequent targets follows how popular their style is, up to this
# much noise on the log scale (0 would make popularity decide alone).
_FREQUENCY_JITTER = 1.0
# The rarest tags of each class: prevalences so low that a training set of a few thousand
# tracks sees a handful of positives or none.
_RARE_PREVALENCES = (2e-5, 6e-5, 2e-4, 5e-4, 1e-3)
# Audio features per network view, and their noise.
_N_FEATURES = 48
_FEATURE_NOISE = 0.6
_VIEW_NOISE = 0.8
_PRODUCTION_NOISE = 0.5
# The per-class networks.
_HIDDEN_UNITS = 64
_MAX_EPOCHS = 40
_WEIGHT_DECAY = 1e-4
_LEARNING_RATE = 2e-3
# Artists (only with ``artists=True``): albums per artist, inclusive; the share of the album
# style spread that is the artist's; the spread of its audio signature; how many tags its
# idiosyncratic propensities touch and the size of their logit shift.
_ARTIST_ALBUMS = (1, 4)
_ARTIST_STYLE_SHARE = 0.6
_ARTIST_SIGNATURE_NOISE = 0.6
_ARTIST_QUIRK_TAGS = 12
_ARTIST_QUIRK_STRENGTH = 2.5
# Folds of cross-fitted training scores.
_CROSS_FIT_FOLDS = 5
# Scores are kept strictly inside (0, 1).
_SCORE_FLOOR = 1e-6
# Size of the reference sample used to set tag frequencies (independent of n_tracks).
_REFERENCE_TRACKS = 3000


@dataclass(frozen=True)
class SyntheticSplit:
    """One part (training or test) of a synthetic catalogue.

    Attributes
    ----------
    ids : ndarray of shape (n_tracks,), dtype int64
        Unique track ids (the reference data set's ``ChallengeID``).
    tag_scores : ndarray of shape (n_tracks, n_tags), dtype float64
        The networks' tag scores, strictly inside (0, 1); columns follow ``taxonomy.tags``.
    category_scores : ndarray of shape (n_tracks, n_categories), dtype float64
        The networks' category scores, strictly inside (0, 1); columns follow
        ``taxonomy.categories``.
    truth : ndarray of shape (n_tracks, n_tags), dtype uint8
        0/1 tag truth; columns follow ``taxonomy.tags``.
    albums : ndarray of shape (n_tracks,), dtype int64
        The album of each track (use it as cross-validation groups).
    artists : ndarray of shape (n_tracks,), dtype int64
        The artist of each track. Without artists (``artists=False``) every album is its
        own artist, so this equals ``albums``.
    """

    ids: np.ndarray
    tag_scores: np.ndarray
    category_scores: np.ndarray
    truth: np.ndarray
    albums: np.ndarray
    artists: np.ndarray


@dataclass(frozen=True)
class SyntheticCatalogue:
    """A synthetic catalogue: its taxonomy and a training and a test split.

    The two splits share no track id, no album and no artist.

    Attributes
    ----------
    taxonomy : Taxonomy
        The demo taxonomy (:func:`demo_taxonomy`).
    train : SyntheticSplit
        Tracks whose truth trained the networks; their scores are in-sample, or
        cross-fitted with ``training_scores="cross-fitted"``.
    test : SyntheticSplit
        Tracks from other albums (other artists); their scores are out-of-sample.
    training_scores : str
        ``"in-sample"`` or ``"cross-fitted"``.
    has_artists : bool
        Whether albums were grouped into artists.
    """

    taxonomy: Taxonomy
    train: SyntheticSplit
    test: SyntheticSplit
    training_scores: str = "in-sample"
    has_artists: bool = False


def demo_taxonomy() -> Taxonomy:
    """The taxonomy of the synthetic catalogue.

    Three classes (``Genres``, ``Instruments``, ``Moods``), 41 categories and 248 tags,
    shaped like the reference data set's thesaurus.

    Returns
    -------
    Taxonomy

    Examples
    --------
    >>> taxonomy = demo_taxonomy()
    >>> taxonomy.classes
    ('Genres', 'Instruments', 'Moods')
    >>> len(taxonomy.categories), len(taxonomy.tags)
    (41, 248)
    >>> taxonomy.category_of("bossa-nova")
    'genres-latin'
    """
    tags: list[str] = []
    tag_categories: list[str] = []
    tag_classes: list[str] = []
    for class_name, categories in TAXONOMY_TREE.items():
        for category, category_tags in categories.items():
            tags.extend(category_tags)
            tag_categories.extend([category] * len(category_tags))
            tag_classes.extend([class_name] * len(category_tags))
    return Taxonomy(tags, tag_categories, tag_classes, source="demo taxonomy")


def make_catalogue(
    n_tracks: int = DEFAULT_N_TRACKS,
    *,
    seed: int = 0,
    test_fraction: float = 0.25,
    training_scores: str = "in-sample",
    artists: bool = False,
    artist_strength: float = 1.0,
) -> SyntheticCatalogue:
    """Generate a synthetic catalogue with scores from small per-class neural networks.

    Parameters
    ----------
    n_tracks : int, default=DEFAULT_N_TRACKS
        Tracks in total, training and test together.
    seed : int, default=0
        Seed of every random choice: the same seed gives identical arrays.
    test_fraction : float, default=0.25
        Share of the tracks, in whole albums (whole artists with ``artists``), held out as
        the test split. Strictly between 0 and 1.
    training_scores : {"in-sample", "cross-fitted"}, default="in-sample"
        ``"in-sample"``: the networks score the training tracks they were trained on.
        ``"cross-fitted"``: training tracks are dealt into 5 folds by artist (by album
        without ``artists``) and each fold is scored by networks trained on the other
        4 folds. Test tracks are always scored by networks trained on all training
        tracks (not a mean of the fold networks, whose averaging would smooth the test
        scores unlike any single network's).
    artists : bool, default=False
        Group albums into artists of 1 to 4 albums, with a shared style, audio signature
        and artist-specific tag propensities, and hold out whole artists as the test
        split. Without it each album is its own artist.
    artist_strength : float, default=1.0
        Scale of the artist effects, only with ``artists=True``: the logit shift of each
        artist's idiosyncratic tags (2.5 at 1) and the spread of its audio signature (0.6
        at 1) are multiplied by it, and artists hold 1 to ``max(4, round(4 *
        artist_strength))`` albums. A positive, finite number; 1 gives the same arrays as
        before the option existed.

    Returns
    -------
    SyntheticCatalogue

    Raises
    ------
    InputError
        If ``n_tracks`` is too small to hold a training and a test part,
        ``test_fraction`` is not strictly between 0 and 1, ``training_scores`` is not
        one of :data:`TRAINING_SCORES`, ``artists`` is not a bool, or
        ``artist_strength`` is not a positive finite number (or differs from 1 without
        ``artists``).

    Examples
    --------
    >>> catalogue = make_catalogue(300, seed=1)
    >>> catalogue.train.truth.shape[0] + catalogue.test.truth.shape[0]
    300
    >>> set(catalogue.train.albums.tolist()) & set(catalogue.test.albums.tolist())
    set()
    >>> variant = make_catalogue(300, seed=1, training_scores="cross-fitted", artists=True)
    >>> set(variant.train.artists.tolist()) & set(variant.test.artists.tolist())
    set()
    """
    _check_arguments(n_tracks, seed, test_fraction)
    _check_variant(training_scores, artists, artist_strength)
    taxonomy = demo_taxonomy()
    rng = np.random.default_rng(seed)
    world = _draw_world(taxonomy, rng)

    albums = _draw_albums(n_tracks, rng)
    # Every random draw the variants add is guarded, so the default catalogue stays the
    # same array for array as before the variants existed.
    artist_of_album = (
        _draw_artists(int(albums.max()) + 1, rng, artist_strength) if artists else None
    )
    styles = _draw_styles(albums, world, rng, artist_of_album=artist_of_album)
    logits = styles @ world.tag_directions * world.tag_sharpness + world.tag_offsets
    if artist_of_album is not None:
        logits = (
            logits
            + _artist_quirks(artist_of_album, len(taxonomy.tags), rng, artist_strength)[
                artist_of_album[albums]
            ]
        )
    tag_probabilities = _sigmoid(logits)
    truth = (rng.random(tag_probabilities.shape) < tag_probabilities).astype(np.uint8)
    category_truth = taxonomy.category_truth(truth, taxonomy.tags)

    track_artists = albums if artist_of_album is None else artist_of_album[albums]
    is_test = _hold_out_albums(track_artists, test_fraction, rng)
    audio = _audio_features(styles, albums, world, rng)
    if artist_of_album is not None:
        n_artists = int(artist_of_album.max()) + 1
        signature = rng.normal(size=(n_artists, audio.shape[1])) * (
            _ARTIST_SIGNATURE_NOISE * artist_strength
        )
        audio = audio + signature[track_artists]
    # Each class's network has its own front end, so each hears the audio with its own
    # noise. That is what gives the other networks' scores something to add.
    views = {
        class_name: audio + rng.normal(size=audio.shape) * _VIEW_NOISE
        for class_name in taxonomy.classes
    }
    if training_scores == "in-sample":
        tag_scores, category_scores = _scores_from(
            taxonomy, views, truth, category_truth, ~is_test, rng
        )
    else:
        tag_scores, category_scores = _cross_fitted_scores(
            taxonomy, views, truth, category_truth, is_test, track_artists, rng
        )
    # Sparse, shuffled ids, like a catalogue's: nothing to learn from their order.
    ids = (100_000 + rng.choice(20 * n_tracks, size=n_tracks, replace=False)).astype(np.int64)

    def split(mask: np.ndarray) -> SyntheticSplit:
        rows = np.flatnonzero(mask)
        rows = rows[rng.permutation(rows.size)]
        return SyntheticSplit(
            ids=ids[rows],
            tag_scores=tag_scores[rows],
            category_scores=category_scores[rows],
            truth=truth[rows],
            albums=albums[rows],
            artists=track_artists[rows],
        )

    return SyntheticCatalogue(
        taxonomy=taxonomy,
        train=split(~is_test),
        test=split(is_test),
        training_scores=training_scores,
        has_artists=artists,
    )


def _check_arguments(n_tracks: int, seed: int, test_fraction: float) -> None:
    """Raise :class:`InputError` for arguments that cannot make a catalogue."""
    if isinstance(n_tracks, bool) or not isinstance(n_tracks, int | np.integer):
        raise InputError(f"n_tracks must be an integer, not {n_tracks!r}")
    if n_tracks < _MIN_TRACKS:
        raise InputError(
            f"n_tracks={n_tracks} is too small to hold a training and a test part; "
            f"use at least {_MIN_TRACKS}"
        )
    if n_tracks > _MAX_TRACKS:
        raise InputError(
            f"n_tracks={n_tracks} is more than a synthetic catalogue holds; "
            f"use at most {_MAX_TRACKS:,}"
        )
    check_seed(seed)
    if not isinstance(test_fraction, float | int) or not 0.0 < test_fraction < 1.0:
        raise InputError(f"test_fraction must be strictly between 0 and 1, not {test_fraction!r}")


def _check_variant(training_scores: str, artists: bool, artist_strength: float) -> None:
    """Raise :class:`InputError` for an unknown variant."""
    if training_scores not in TRAINING_SCORES:
        raise InputError(
            f"training_scores must be one of {', '.join(TRAINING_SCORES)}, not {training_scores!r}"
        )
    if not isinstance(artists, bool | np.bool_):
        raise InputError(f"artists must be True or False, not {artists!r}")
    if (
        isinstance(artist_strength, bool | np.bool_)
        or not isinstance(artist_strength, float | int | np.floating | np.integer)
        or not 0.0 < artist_strength < math.inf
    ):
        raise InputError(
            f"artist_strength must be a positive, finite number, not {artist_strength!r}"
        )
    if artist_strength != 1.0 and not artists:
        raise InputError(
            f"artist_strength={artist_strength!r} needs artists=True: without artists "
            "there are no artist effects to scale"
        )


@dataclass(frozen=True)
class _World:
    """The hidden rules every track of one catalogue follows."""

    genre_centres: np.ndarray  # (n_genre_categories, style_dimension)
    genre_popularity: np.ndarray  # (n_genre_categories,), sums to 1
    tag_directions: np.ndarray  # (style_dimension, n_tags), unit columns
    tag_sharpness: np.ndarray  # (n_tags,)
    tag_offsets: np.ndarray  # (n_tags,)
    audio_mixing: np.ndarray  # (style_dimension, n_features)
    audio_offsets: np.ndarray  # (n_features,)


def _unit_columns(matrix: np.ndarray) -> np.ndarray:
    return matrix / np.linalg.norm(matrix, axis=0, keepdims=True)


def _draw_world(taxonomy: Taxonomy, rng: np.random.Generator) -> _World:
    """Draw genre centres, tag directions and tag frequencies."""
    dimension = _STYLE_DIMENSION
    categories = taxonomy.categories
    genre_categories = list(GENRES)
    n_genres = len(genre_categories)
    genre_centres = rng.normal(size=(n_genres, dimension)) * _GENRE_SEPARATION
    # GENRES is listed roughly from the most to the least common genre in a production
    # catalogue: a few genres fill most albums, many are niche.
    popularity = 1.0 / np.arange(1, n_genres + 1) ** _GENRE_POPULARITY_EXPONENT
    genre_popularity = popularity / popularity.sum()

    # A genre category points at its centre; an instrument or mood category mixes the
    # directions of the genres it is common in with a direction of its own.
    genre_directions = _unit_columns(genre_centres.T)
    category_directions = np.empty((dimension, len(categories)))
    for j, category in enumerate(categories):
        if category in GENRES:
            category_directions[:, j] = genre_directions[:, genre_categories.index(category)]
        else:
            related = [genre_categories.index(genre) for genre in GENRE_AFFINITIES[category]]
            weights = rng.uniform(0.6, 1.0, len(related))
            own = _unit_columns(rng.normal(size=(dimension, 1)))[:, 0]
            category_directions[:, j] = (
                _unit_columns((genre_directions[:, related] @ weights)[:, None])[:, 0]
                + _OWN_DIRECTION_WEIGHT * own
            )
    category_directions = _unit_columns(category_directions)

    # Tags of one category point in similar directions: they co-occur.
    category_column = {category: j for j, category in enumerate(categories)}
    tag_category_columns = [category_column[c] for c in taxonomy.tag_categories]
    tag_noise = _unit_columns(rng.normal(size=(dimension, len(taxonomy.tags))))
    tag_directions = _unit_columns(
        category_directions[:, tag_category_columns] + _TAG_DEVIATION * tag_noise
    )
    tag_sharpness = rng.uniform(*_TAG_SHARPNESS, size=len(taxonomy.tags))

    world = _World(
        genre_centres=genre_centres,
        genre_popularity=genre_popularity,
        tag_directions=tag_directions,
        tag_sharpness=tag_sharpness,
        tag_offsets=np.zeros(len(taxonomy.tags)),
        audio_mixing=rng.normal(size=(dimension, _N_FEATURES)) / np.sqrt(dimension),
        audio_offsets=rng.normal(size=_N_FEATURES) * 0.5,
    )
    # Set each tag's offset so that its frequency in a reference catalogue (drawn from the
    # same world, so it does not depend on n_tracks) hits a Zipf-like target.
    reference_albums = _draw_albums(_REFERENCE_TRACKS, rng)
    reference_logits = _draw_styles(reference_albums, world, rng) @ tag_directions * tag_sharpness
    offsets = _offsets_for_prevalence(
        reference_logits, _target_prevalences(taxonomy, reference_logits, rng)
    )
    return dataclasses.replace(world, tag_offsets=offsets)


def _target_prevalences(
    taxonomy: Taxonomy, reference_logits: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Zipf-like share of positive tracks of each tag; a few tags almost never occur.

    Within each class, the most frequent targets tend to go to the tags that point at
    popular styles (a jittered ranking), so that common genres carry common tags.
    """
    natural_frequency = _sigmoid(reference_logits).mean(axis=0)
    popularity_rank_key = np.log(natural_frequency) + rng.normal(
        scale=_FREQUENCY_JITTER, size=natural_frequency.size
    )
    prevalences = np.empty(len(taxonomy.tags))
    tag_classes = np.asarray(taxonomy.tag_classes)
    n_rare = len(_RARE_PREVALENCES)
    for class_name in taxonomy.classes:
        columns = np.flatnonzero(tag_classes == class_name)
        ranks = np.arange(1, columns.size - n_rare + 1)
        zipf = ranks**-_ZIPF_EXPONENT
        zipf *= (_MEAN_TAGS_PER_TRACK[class_name] - sum(_RARE_PREVALENCES)) / zipf.sum()
        class_prevalences = np.concatenate([np.minimum(zipf, _MAX_PREVALENCE), _RARE_PREVALENCES])
        most_popular_first = columns[np.argsort(-popularity_rank_key[columns], kind="stable")]
        prevalences[most_popular_first] = class_prevalences
    return prevalences


def _offsets_for_prevalence(logits: np.ndarray, prevalences: np.ndarray) -> np.ndarray:
    """Per-column offset ``b`` with ``mean(sigmoid(logits + b)) == prevalence`` (bisection)."""
    low = np.full(logits.shape[1], -40.0)
    high = np.full(logits.shape[1], 40.0)
    for _ in range(50):
        middle = (low + high) / 2
        too_frequent = _sigmoid(logits + middle).mean(axis=0) > prevalences
        high = np.where(too_frequent, middle, high)
        low = np.where(too_frequent, low, middle)
    return (low + high) / 2


def _sigmoid(values: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(values, -500, 500)))


def _draw_albums(n_tracks: int, rng: np.random.Generator) -> np.ndarray:
    """Album id of each track; albums hold 5 to 15 consecutive tracks."""
    smallest, largest = _ALBUM_SIZES
    sizes = rng.integers(smallest, largest + 1, size=n_tracks // smallest + 1)
    albums = np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)
    return albums[:n_tracks]


def _draw_artists(n_albums: int, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """Artist id of each album; artists hold 1 to 4 consecutive albums (up to
    ``round(4 * strength)`` above strength 1)."""
    smallest, largest = _ARTIST_ALBUMS
    largest = max(largest, round(largest * strength))
    sizes = rng.integers(smallest, largest + 1, size=n_albums)
    return np.repeat(np.arange(sizes.size, dtype=np.int64), sizes)[:n_albums]


def _artist_quirks(
    artist_of_album: np.ndarray, n_tags: int, rng: np.random.Generator, strength: float = 1.0
) -> np.ndarray:
    """Each artist's tag-logit shift, shape (n_artists, n_tags): a few tags, either sign,
    of size ``_ARTIST_QUIRK_STRENGTH * strength``."""
    n_artists = int(artist_of_album.max()) + 1
    quirks = np.zeros((n_artists, n_tags))
    for artist in range(n_artists):
        tags = rng.choice(n_tags, _ARTIST_QUIRK_TAGS, replace=False)
        quirks[artist, tags] = rng.choice([-1.0, 1.0], tags.size) * (
            _ARTIST_QUIRK_STRENGTH * strength
        )
    return quirks


def _draw_styles(
    albums: np.ndarray,
    world: _World,
    rng: np.random.Generator,
    *,
    artist_of_album: np.ndarray | None = None,
) -> np.ndarray:
    """Latent style of each track: its album's style plus track noise.

    With ``artist_of_album``, genres are the artist's and part of the album spread is an
    artist style its albums share.
    """
    n_albums = int(albums.max()) + 1
    n_genres, dimension = world.genre_centres.shape
    n_sources = n_albums if artist_of_album is None else int(artist_of_album.max()) + 1
    main_genre = rng.choice(n_genres, n_sources, p=world.genre_popularity)
    # Some albums cross two genres (jazz-funk, blues-rock...).
    second_genre = rng.choice(n_genres, n_sources, p=world.genre_popularity)
    crossover = rng.uniform(0.0, 0.5, n_sources) * (rng.random(n_sources) < 0.4)
    source_styles = (1 - crossover)[:, None] * world.genre_centres[main_genre] + crossover[
        :, None
    ] * world.genre_centres[second_genre]
    if artist_of_album is None:
        album_styles = source_styles + rng.normal(size=(n_albums, dimension)) * _ALBUM_SPREAD
    else:
        artist_styles = source_styles + rng.normal(size=(n_sources, dimension)) * (
            _ALBUM_SPREAD * np.sqrt(_ARTIST_STYLE_SHARE)
        )
        album_styles = artist_styles[artist_of_album] + rng.normal(size=(n_albums, dimension)) * (
            _ALBUM_SPREAD * np.sqrt(1 - _ARTIST_STYLE_SHARE)
        )
    return album_styles[albums] + rng.normal(size=(albums.size, dimension)) * _TRACK_SPREAD


def _audio_features(
    styles: np.ndarray, albums: np.ndarray, world: _World, rng: np.random.Generator
) -> np.ndarray:
    """Audio-like features of each track: a noisy, partly non-linear function of its style.

    The album-level production offset is shared by an album's tracks and says nothing
    about tags; networks can memorise it, which is one reason in-sample scores flatter.
    """
    n_albums = int(albums.max()) + 1
    mixed = styles @ world.audio_mixing + world.audio_offsets
    half = mixed.shape[1] // 2
    features = np.concatenate([np.tanh(mixed[:, :half]), mixed[:, half:] * 0.5], axis=1)
    production = rng.normal(size=(n_albums, features.shape[1])) * _PRODUCTION_NOISE
    noise = rng.normal(size=features.shape) * _FEATURE_NOISE
    return features + production[albums] + noise


def _cross_fitted_scores(
    taxonomy: Taxonomy,
    views: dict[str, np.ndarray],
    truth: np.ndarray,
    category_truth: np.ndarray,
    is_test: np.ndarray,
    groups: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Score the training tracks out-of-fold (folds by ``groups``), the test tracks with
    networks trained on all training tracks."""
    tag_scores, category_scores = _scores_from(
        taxonomy, views, truth, category_truth, ~is_test, rng
    )
    fold = np.full(groups.size, -1)
    fold[~is_test] = _group_folds(groups[~is_test], _CROSS_FIT_FOLDS, rng)
    for k in range(_CROSS_FIT_FOLDS):
        scored = fold == k
        if not scored.any():
            continue
        fold_tags, fold_categories = _scores_from(
            taxonomy, views, truth, category_truth, ~is_test & ~scored, rng
        )
        tag_scores[scored] = fold_tags[scored]
        category_scores[scored] = fold_categories[scored]
    return tag_scores, category_scores


def _group_folds(groups: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """Fold of each track: groups in random order, cut into ``n_folds`` runs of about
    equal track counts."""
    group_ids, inverse, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    order = rng.permutation(group_ids.size)
    tracks_before = np.cumsum(sizes[order]) - sizes[order]
    group_fold = np.empty(group_ids.size, dtype=np.int64)
    group_fold[order] = np.minimum(tracks_before * n_folds // groups.size, n_folds - 1)
    return group_fold[inverse]


def _scores_from(
    taxonomy: Taxonomy,
    views: dict[str, np.ndarray],
    truth: np.ndarray,
    category_truth: np.ndarray,
    trained_on: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Train one network per class on the ``trained_on`` tracks and score every track."""
    tag_classes = np.asarray(taxonomy.tag_classes)
    category_classes = np.asarray([taxonomy.class_of_category(c) for c in taxonomy.categories])
    tag_scores = np.empty(truth.shape)
    category_scores = np.empty(category_truth.shape)
    for class_name in taxonomy.classes:
        tag_columns = np.flatnonzero(tag_classes == class_name)
        category_columns = np.flatnonzero(category_classes == class_name)
        targets = np.hstack([truth[:, tag_columns], category_truth[:, category_columns]])
        features = views[class_name]
        mean = features[trained_on].mean(axis=0)
        spread = features[trained_on].std(axis=0) + 1e-12
        features = (features - mean) / spread
        network = MLPClassifier(
            hidden_layer_sizes=(_HIDDEN_UNITS,),
            alpha=_WEIGHT_DECAY,
            batch_size=min(128, int(trained_on.sum())),
            learning_rate_init=_LEARNING_RATE,
            max_iter=_MAX_EPOCHS,
            random_state=int(rng.integers(2**31 - 1)),
        )
        # The matrices are small: extra BLAS threads only add overhead, and on a busy
        # machine they make training several times slower.
        with threadpool_limits(limits=1), warnings.catch_warnings():
            # A few epochs give scores of realistic quality; convergence would only cost time.
            warnings.simplefilter("ignore", ConvergenceWarning)
            network.fit(features[trained_on], targets[trained_on])
            scores = network.predict_proba(features)
        tag_scores[:, tag_columns] = scores[:, : tag_columns.size]
        category_scores[:, category_columns] = scores[:, tag_columns.size :]
    return (
        np.clip(tag_scores, _SCORE_FLOOR, 1 - _SCORE_FLOOR),
        np.clip(category_scores, _SCORE_FLOOR, 1 - _SCORE_FLOOR),
    )


def _hold_out_albums(
    albums: np.ndarray, test_fraction: float, rng: np.random.Generator
) -> np.ndarray:
    """Mark whole albums (or any groups: artists), in random order, as test until they
    hold about ``test_fraction`` of the tracks.

    Both parts keep at least one album.
    """
    album_ids, sizes = np.unique(albums, return_counts=True)
    order = rng.permutation(album_ids.size)
    cumulative = np.cumsum(sizes[order])
    target = test_fraction * albums.size
    n_test_albums = int(np.argmin(np.abs(cumulative - target))) + 1
    n_test_albums = min(n_test_albums, album_ids.size - 1)
    test_albums = album_ids[order[:n_test_albums]]
    return np.isin(albums, test_albums)
