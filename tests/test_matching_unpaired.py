"""match_spaces without known pairs: the rotation found (oracle: an exact rotation with rows
shuffled), the label-free quality signal (high on a rotation, low on unrelated clouds) and
the neighbour means against a dense computation."""

import warnings

import numpy as np
import pytest
from scipy.stats import ortho_group

from skinvariance import MatchedAlignment, OrthogonalAlignment, match_spaces
from skinvariance.exceptions import MatchingWarning
from skinvariance.kernels._unit import unit_rows
from skinvariance.matching._neighbours import neighbour_means
from skinvariance.matching._seeded import centred_units
from skinvariance.matching._unpaired import padded, unpaired_rotation


def _blobs(rng, n=400, d=8, n_blobs=6):
    """Blobs of unequal sizes and spreads: a structure k-means finds again in any rotation."""
    sizes = rng.multinomial(n, np.linspace(1, 3, n_blobs) / np.linspace(1, 3, n_blobs).sum())
    centres = 4.0 * rng.normal(size=(n_blobs, d))
    labels = np.repeat(np.arange(n_blobs), sizes)
    return centres[labels] + rng.normal(size=(n, d)) * np.linspace(0.5, 1.5, d)


def _rotated(X, rng, width=None):
    """X rotated (into ``width`` columns) with rows shuffled; truth[i] is the row of Y holding
    row i of X."""
    width = X.shape[1] if width is None else width
    rotation = ortho_group.rvs(width, random_state=int(rng.integers(1000)))[: X.shape[1]]
    order = rng.permutation(len(X))
    return (X @ rotation)[order], np.argsort(order), rotation




@pytest.mark.parametrize("width", [None, 11])
def test_the_rotation_found_without_pairs_is_the_true_one(rng, width):
    X = _blobs(rng)
    Y, truth, rotation = _rotated(X, rng, width)
    U, V = centred_units(X), centred_units(Y)
    W, quality = unpaired_rotation(U, V, random_state=0)
    # the same rows carried onto each other: cosine 1 between U's rows mapped and V's
    mapped = (padded(U, V)[0] @ W)[:, : V.shape[1]]
    cosines = np.sum(mapped * V[truth], axis=1)
    assert np.median(cosines) > 0.99
    assert quality > 0.9


def test_quality_is_high_on_a_rotation_with_rows_shuffled(rng):
    X = _blobs(rng)
    Y, truth, _ = _rotated(X, rng)
    with warnings.catch_warnings():
        warnings.simplefilter("error", MatchingWarning)  # no warning on a sound match
        pairs, quality = match_spaces(X, Y, random_state=0, return_quality=True)
    assert quality > 0.9
    assert np.mean(truth[pairs[:, 0]] == pairs[:, 1]) > 0.95


def test_quality_is_low_and_warns_on_unrelated_clouds(rng):
    X, Y = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))  # no correspondence at all
    with pytest.warns(MatchingWarning, match="quality is -?0\\.\\d\\d \\(below 0.5"):
        pairs, quality = match_spaces(X, Y, random_state=0, return_quality=True)
    assert -0.5 < quality < 0.5
    assert len(pairs) > 0  # still pairs: the warning, not an error, says they are unreliable


def test_quality_is_nan_when_pairs_are_known(rng):
    X = _blobs(rng)
    Y, truth, _ = _rotated(X, rng)
    known = np.column_stack([np.arange(10), truth[:10]])
    pairs, confidence, quality = match_spaces(X, Y, known, return_confidence=True,
                                              return_quality=True)
    assert np.isnan(quality)
    assert confidence.shape == (len(pairs),)
    np.testing.assert_array_equal(pairs, match_spaces(X, Y, known))


def test_matched_alignment_reads_the_quality(rng):
    X = _blobs(rng)
    Y, truth, _ = _rotated(X, rng)
    model = MatchedAlignment(OrthogonalAlignment(), random_state=0).fit(X, Y)
    _, quality = match_spaces(X, Y, random_state=0, return_quality=True)
    assert model.match_quality_ == quality > 0.9
    np.testing.assert_allclose(model.transform(X)[np.argsort(truth)], Y, atol=1e-6)


@pytest.mark.parametrize("working_memory", [0.01, 1024])
def test_neighbour_means_against_a_dense_computation(rng, working_memory):
    A, B = unit_rows(rng.normal(size=(70, 5))), unit_rows(rng.normal(size=(90, 5)))
    targets = rng.normal(size=(90, 3))
    k = 7
    nearest = np.argsort(-(A @ B.T), axis=1)[:, :k]
    expected = targets[nearest].mean(axis=1)
    means = neighbour_means(A, B, targets, n_neighbors=k, working_memory=working_memory)
    np.testing.assert_allclose(means, expected, rtol=1e-12, atol=1e-12)
    # more neighbours than rows: the mean of every row
    every = neighbour_means(A, B, targets, n_neighbors=500, working_memory=working_memory)
    np.testing.assert_allclose(every, np.broadcast_to(targets.mean(axis=0), (70, 3)))
