from __future__ import annotations

import numpy as np

from latdeploy.data import EVENTS, load_split
from latdeploy.data import events as event_data


def test_dvs_model_emits_on_for_brightening_off_for_darkening_and_nothing_when_static():
    frames = np.zeros((4, 1, 3))
    frames[:, 0, 1] = [0.0, 1.0, 1.0, 0.0]  # pixel 1 brightens, stays, darkens
    events = event_data.dvs_events(frames, np.random.default_rng(0))
    assert events.shape == (3, 2, 1, 3) and events.dtype == np.uint8
    assert events[0, 0, 0, 1] > 10 and events[0, 1, 0, 1] == 0  # log(1 / 0.05) / 0.15 ~ 20 ON events
    assert events[1, :, 0, 1].sum() == 0
    assert events[2, 1, 0, 1] > 10 and events[2, 0, 0, 1] == 0
    assert events[:, :, 0, [0, 2]].sum() == 0  # static pixels: read noise stays below the contrast threshold


def test_event_split_is_seeded_and_follows_the_digits_split():
    first = load_split(EVENTS, "test")
    again = event_data.load_event_split("test")
    digits = load_split("sklearn-digits", "test")
    assert np.array_equal(first.x, again.x) and np.array_equal(first.y, digits.y)
    assert first.x.shape == (360, event_data.RAW_BINS, 2, event_data.SENSOR, event_data.SENSOR)
    assert first.x.sum(axis=(1, 2, 3, 4)).min() > 0  # every moving digit produces events
    assert not np.array_equal(event_data.load_event_split("test", seed=1).x, first.x)
    positions = event_data.saccade_positions()
    assert positions.shape == (event_data.RAW_BINS + 1, 2) and np.allclose(positions[0], positions[-1])
