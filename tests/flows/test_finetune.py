"""finetune: the fine-tuned shipped digits models fire alike in float and fixed point on every spike slot."""

from __future__ import annotations

import pytest
import torch

import latdeploy
from latdeploy.flows.finetune import agreement_report, finetune
from latdeploy.hw.profile import load_profile
from tests.conftest import ROOT

DIGITS_MODELS = ("digits_mlp", "digits_le_tad_mlp", "digits_mtlif_mlp", "digits_ttfs_convnet")


@pytest.fixture
def one_thread():
    """One torch thread (a 2-core CI machine runs several processes; more threads only contend)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("name", DIGITS_MODELS)
def test_finetuned_shipped_model_agrees_on_every_spike_slot(name):
    """One epoch of fine-tuning at 8 bits; float vs fixed on the whole test split (issue 5 asks >= 99.9 %).

    The accuracies before and after are measured by tools/quant_study.py.
    """
    profile = load_profile("loihi2")
    model, metadata = latdeploy.load(ROOT / "models" / f"{name}.pt")
    stages: list[str] = []
    finetune(model, metadata, profile, 8, epochs=1, progress=stages.append)
    assert len(stages) == 1 and stages[0].startswith("epoch 1/1, best held-out fixed-point accuracy ")
    report = agreement_report(model, metadata, profile, 8)
    assert report["samples"] == 360
    assert report["mismatches"] == 0, report["per_layer"]
