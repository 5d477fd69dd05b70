"""The paper protocol checks finiteness once per pass (issue 13: no host sync per step).

``train`` keeps a device-side "all finite so far" flag and reads it at the end of the pass;
when it is false it replays the seed with a check after every step, so ``Diverged`` still
names the culprit and the step. The reference here is the per-step check itself: a model
built with ``check_each_step=True`` and fitted by hand.
"""

import numpy as np
import pytest
import torch

from avarep.protocols import Diverged, paper
from avarep.sweep import MODELS

OPTIONS = {"dtype": "float64", "device": "cpu", "threads": 1}


def images(n=6, p=16, seed=3, bad_image=None):
    data = np.random.default_rng(seed).random((n, p, 3))
    if bad_image is not None:
        data[bad_image, 5, 1] = np.inf
    return data


def per_step_message(data, model, lr, seed):
    """Diverged's message from the per-step check, without train's deferral."""
    rng = np.random.default_rng(seed)
    m = paper.build(model, data.shape[1] * 3, rng, OPTIONS, check_each_step=True)
    x_all = torch.tensor(data.reshape(len(data), -1), dtype=torch.float64)
    with torch.no_grad(), pytest.raises(Diverged) as caught:
        paper.fit(m, x_all, lr)
    return str(caught.value)


@pytest.mark.parametrize("model", MODELS)
def test_diverged_names_the_culprit_and_step_of_the_per_step_check(model):
    data = images(bad_image=3)
    with pytest.raises(Diverged) as caught:
        paper.train(data, model, 0.1, np.random.default_rng(0), paper.check_options({}))
    assert str(caught.value) == per_step_message(data, model, 0.1, 0)
    # An infinite pixel in image 4 (index 3) breaks step 4; the GAN never sees a real image
    # before d's update, so its generator breaks one step later.
    step = 5 if model == "GAN" else 4
    assert str(caught.value).endswith(f"at step {step}")


def test_the_replay_leaves_the_random_stream_where_a_per_step_check_would():
    data = images(bad_image=2)
    deferred, per_step = np.random.default_rng(7), np.random.default_rng(7)
    with pytest.raises(Diverged):
        paper.train(data, "AVA5", 0.1, deferred, paper.check_options({}))
    m = paper.build("AVA5", 48, per_step, OPTIONS)
    with torch.no_grad(), pytest.raises(Diverged):
        paper.fit(m, torch.tensor(data.reshape(6, -1)), 0.1)
    assert deferred.integers(2**62) == per_step.integers(2**62)


@pytest.mark.parametrize("bad_image", [0, 4])
def test_a_deferred_pass_reports_the_first_step_that_was_not_finite(bad_image):
    data = images(bad_image=bad_image)
    m = paper.build("VAE", 48, np.random.default_rng(0), OPTIONS, check_each_step=False)
    with torch.no_grad(), pytest.raises(paper.NonFiniteInPass) as caught:
        paper.fit(m, torch.tensor(data.reshape(6, -1)), 0.1)
    assert caught.value.step == bad_image + 1  # the VAE's decoder sees image i at step i + 1
    assert isinstance(caught.value, Diverged)


@pytest.mark.parametrize("model", MODELS)
def test_deferring_the_checks_changes_no_number(model):
    data = images()
    trained = {}
    for each_step in (True, False):
        m = paper.build(model, 48, np.random.default_rng(1), OPTIONS, check_each_step=each_step)
        with torch.no_grad():
            paper.fit(m, torch.tensor(data.reshape(6, -1)), 0.4)
        trained[each_step] = [p.clone() for net in m.networks().values() for p in net.parameters()]
    assert all(torch.equal(a, b) for a, b in zip(trained[True], trained[False]))


@pytest.mark.parametrize("values, finite", [
    ([1.0, 2.0], True),
    ([1e308, 1e308], True),  # the sum overflows, every element is finite
    ([1.0, float("inf")], False),
    ([float("-inf"), float("inf")], False),
    ([float("nan"), 0.0], False),
])
def test_the_finiteness_test_of_a_tensor(values, finite):
    assert paper._all_finite(torch.tensor(values, dtype=torch.float64)) is finite
