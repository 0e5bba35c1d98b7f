"""The training loop the engine owns, so that a model plugin only builds its network.

Seeded and deterministic on the CPU; device choice cuda > mps > cpu (or $ENGINE_DEVICE); mixed
precision on CUDA; AdamW, ReduceLROnPlateau, gradient clipping, early stopping on validation
loss with the best weights restored; focal loss or class-weighted BCE.
"""

from __future__ import annotations

import copy
import itertools
import os
import random

import numpy as np
import torch
from torch import nn

from engine import progress
from engine.errors import UserError
from engine.models.base import Dataset

INFERENCE_BATCH = 1024  # small batches stay in cache: faster on CPU than large ones


def choose_device() -> torch.device:
    requested = os.environ.get("ENGINE_DEVICE")
    if requested:
        return _requested_device(requested)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _requested_device(requested: str) -> torch.device:
    """ENGINE_DEVICE, checked: a name torch knows, of a kind this machine has."""
    try:
        device = torch.device(requested)
    except RuntimeError as error:
        raise UserError(f"ENGINE_DEVICE={requested}: not a torch device ({' '.join(str(error).split())})") from None
    available = {"cpu": True, "cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available()}
    if not available.get(device.type, True):
        raise UserError(f"ENGINE_DEVICE={requested}: torch finds no {device.type} device on this machine")
    return device


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def focal_loss(logits: torch.Tensor, targets: torch.Tensor, alpha: float, gamma: float) -> torch.Tensor:
    """Lin et al. (2017): cross-entropy scaled down on examples the model already gets right."""
    cross_entropy = nn.functional.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    probability = torch.sigmoid(logits)
    p_true = probability * targets + (1 - probability) * (1 - targets)
    alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
    return (alpha_t * (1 - p_true) ** gamma * cross_entropy).mean()


def make_loss(hyperparameters: dict, train_labels: np.ndarray):
    if hyperparameters["loss"] == "focal":
        alpha, gamma = hyperparameters["focal_alpha"], hyperparameters["focal_gamma"]
        return lambda logits, targets: focal_loss(logits, targets, alpha, gamma)
    if hyperparameters["loss"] == "weighted_bce":
        positives = float(train_labels.sum())
        weight = torch.tensor((len(train_labels) - positives) / max(positives, 1.0))
        return nn.BCEWithLogitsLoss(pos_weight=weight)
    raise ValueError(f"unknown loss {hyperparameters['loss']!r}: use focal or weighted_bce")


def _tensors(data: Dataset, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    return (
        torch.as_tensor(data.sequences, dtype=torch.float32, device=device),
        torch.as_tensor(data.assets, dtype=torch.long, device=device),
        torch.as_tensor(data.labels, dtype=torch.float32, device=device),
    )


def train_network(
    network: nn.Module, train: Dataset, validation: Dataset, hyperparameters: dict, generator: torch.Generator
) -> dict:
    """Train in place (seed the global RNGs before building `network`; `generator` orders batches)."""
    device = choose_device()
    network.to(device)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    loss_fn = make_loss(hyperparameters, train.labels)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=hyperparameters["learning_rate"], weight_decay=hyperparameters["weight_decay"]
    )
    schedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=hyperparameters["lr_factor"], patience=hyperparameters["lr_patience"]
    )
    x, assets, y = _tensors(train, device)
    x_val, assets_val, y_val = _tensors(validation, device)
    batch = hyperparameters["batch_size"]
    best_loss, best_state, stale, epochs_run = float("inf"), copy.deepcopy(network.state_dict()), 0, 0
    for _epoch in range(hyperparameters["epochs"]):
        network.train()
        order = torch.randperm(len(y), generator=generator).to(device)
        for start in range(0, len(order), batch):
            rows = order[start : start + batch]
            optimizer.zero_grad(set_to_none=True)
            with torch.autocast(device_type=device.type, enabled=use_amp):
                loss = loss_fn(network(x[rows], assets[rows]), y[rows])
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(network.parameters(), hyperparameters["grad_clip"])
            scaler.step(optimizer)
            scaler.update()
        epochs_run += 1
        network.eval()
        with torch.inference_mode():
            validation_loss = float(loss_fn(network(x_val, assets_val), y_val)) if len(y_val) else 0.0
        schedule.step(validation_loss)
        progress.advance()
        if validation_loss < best_loss - 1e-7:
            best_loss, best_state, stale = validation_loss, copy.deepcopy(network.state_dict()), 0
        else:
            stale += 1
            if stale >= hyperparameters["patience"]:
                break
    network.load_state_dict(best_state)
    network.to("cpu").eval()
    # None when no epoch gave a finite loss: the summary is stored as JSON, which has no infinity.
    best = best_loss if np.isfinite(best_loss) else None
    return {"epochs_run": epochs_run, "best_validation_loss": best, "device": device.type}


def predict_probabilities(network: nn.Module, sequences: np.ndarray, assets: np.ndarray) -> np.ndarray:
    # An inference form of a network may hold its weights as buffers only.
    device = next(itertools.chain(network.parameters(), network.buffers())).device
    network.eval()
    out = np.empty(len(sequences), dtype=np.float64)
    with torch.inference_mode():
        for start in range(0, len(sequences), INFERENCE_BATCH):
            stop = start + INFERENCE_BATCH
            x = torch.as_tensor(np.ascontiguousarray(sequences[start:stop]), dtype=torch.float32, device=device)
            a = torch.as_tensor(assets[start:stop], dtype=torch.long, device=device)
            out[start:stop] = torch.sigmoid(network(x, a)).double().cpu().numpy()
    return out
