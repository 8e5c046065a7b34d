"""tools/train.py: a short run from flags writes a loadable model file and its card."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch

import latdeploy
from tests.conftest import ROOT


def _train_module():
    spec = importlib.util.spec_from_file_location("latdeploy_train_tool", ROOT / "tools" / "train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_short_le_tad_run_learns_and_writes_model_and_card(tmp_path, capsys):
    train = _train_module()
    out = tmp_path / "le.pt"
    flags = ["--out", str(out), "--encoder", "learned_latency", "--features", "32", "--hidden", "32"]
    flags += ["--timesteps", "3", "--loss", "tad", "--epochs", "3", "--qat-epochs", "0", "--no-export-check"]
    assert train.main(flags) == 0
    torch.load(out, weights_only=True)
    model, metadata = latdeploy.load(out)
    assert model.config["encoder"] == "learned_latency" and metadata["loss"] == "tad"
    assert metadata["float_test_accuracy"] > 0.5  # chance is 0.1
    card = out.with_suffix(".md").read_text()
    assert f"{100 * metadata['float_test_accuracy']:.2f} %" in card and "--loss tad" in card
    assert "train acc" in capsys.readouterr().out


def test_default_config_is_the_shipped_digits_mlp_recipe(shipped_model_path):
    train = _train_module()
    args = train.parse_args([])
    _, metadata = latdeploy.load(shipped_model_path)
    assert train.make_config(args, latdeploy.data.load_split("sklearn-digits", "train")) == metadata["config"]
    assert (args.timesteps, args.epochs, args.qat_epochs, args.lr) == (8, 60, 20, 2e-3)


def test_input_noise_perturbs_training_pixels_within_range():
    train = _train_module()
    x = torch.rand(64, 64)
    noisy = train.noisy(x, 0.2, torch.Generator().manual_seed(0))
    assert noisy.shape == x.shape and not torch.equal(noisy, x)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    assert 0.05 < (noisy - x).abs().mean() < 0.2  # std 0.2, shrunk a little by the clipping
    assert train.noisy(x, 0.0, torch.Generator()) is x


def test_input_noise_is_refused_for_event_data():
    train = _train_module()
    with pytest.raises(SystemExit) as error:
        train.parse_args(["--dataset", "sklearn-digits-dvs", "--input-noise", "0.1"])
    assert error.value.code == 2


def test_mtlif_card_command_rebuilds_the_shipped_config():
    train = _train_module()
    _, metadata = latdeploy.load(ROOT / "models" / "digits_mtlif_mlp.pt")
    args = train.parse_args(metadata["train_command"].split()[2:])
    assert args.input_noise == 0.2 and args.neuron == "multi_threshold" and args.timesteps == 2
    assert train.make_config(args, latdeploy.data.load_split("sklearn-digits", "train")) == metadata["config"]


def test_seed_scale_configs_build_vgg11_and_a_strided_dvs128_convnet():
    train = _train_module()
    args = train.parse_args(["--dataset", "generated-shapes-32", "--arch", "vgg11", "--width", "0.0625"])
    config = train.make_config(args, None)
    assert config["arch"] == "vgg11" and config["width"] == 0.0625 and config["encoder"] == "latency"
    args = train.parse_args(["--dataset", "generated-shapes-dvs-128", "--arch", "convnet", "--stride", "2"])
    split = latdeploy.data.Split(np.zeros((1, 8, 2, 128, 128), np.uint8), np.zeros(1, np.int64))
    config = train.make_config(args, split)
    assert config["encoder"] == "stc" and config["input_shape"] == [2, 128, 128]
    assert config["layers"][0]["stride"] == 2 and "stride" not in config["layers"][3]
    with pytest.raises(SystemExit):
        train.parse_args(["--arch", "vgg11"])  # VGG-11 takes 32x32x3 images


def test_decision_latency_is_the_mean_step_over_decided_samples():
    train = _train_module()
    # steps 1, 3 decided; two undecided samples count as T = 8 in the mean over all: (1 + 3 + 16) / 4 = 5
    assert train.decision_latency(5.0, 2, 4, 8) == 2.0
    assert train.decision_latency(8.0, 0, 4, 8) is None
