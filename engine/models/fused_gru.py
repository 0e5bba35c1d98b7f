"""The gru plugin's network (a RecurrentClassifier over an nn.GRU) rewritten for inference: the same
function with less work on a CPU. Its probabilities equal the network's to rounding (within 1e-6);
training always runs the network itself.

- The asset embedding is the same at every step of a sequence, so its share of the GRU's input
  projection is a bias per asset (embedding @ its columns of W_ih), not more input columns.
- A step's input projection is computed in that step, while it is in cache, and the hidden
  projection of the reset and update gates is added onto it in place.
- tanh(a) = 2 sigmoid(2a) - 1, and torch's sigmoid is several times faster than its tanh on a CPU.
  The doubling of a is folded into the weights (exact in floating point). The state is kept as
  u = (h + 1) / 2, so that a step ends in one lerp of sigmoids, u' = lerp(sigmoid(2a), u, z), and
  every linear map of h is rewritten to act on u. In the attention score
  v . tanh(c) = 2v . sigmoid(2c) - sum(v) the constant drops out of the softmax.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.models.layers import RecurrentClassifier


def _acting_on_halved(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear map of h rewritten to act on u = (h + 1) / 2: W h + b = 2W u + (b - W 1)."""
    return 2.0 * weight, bias - weight.sum(dim=1)


def _new_gate_doubled(hidden: int, device: torch.device) -> torch.Tensor:
    """Row factors for a GRU's stacked (reset, update, new) gate weights: 2 on the new gate's rows."""
    factors = torch.ones(3 * hidden, device=device)
    factors[2 * hidden :] = 2.0
    return factors


class _FusedGRULayer(nn.Module):
    """One GRU layer over the first `inputs` of its input columns (a layer above the first reads
    the halved states below it), its new gate's pre-activation doubled."""

    def __init__(self, gru: nn.GRU, layer: int, inputs: int) -> None:
        super().__init__()
        hidden = gru.hidden_size
        doubled = _new_gate_doubled(hidden, gru.weight_ih_l0.device)
        input_weight, input_bias = getattr(gru, f"weight_ih_l{layer}")[:, :inputs], getattr(gru, f"bias_ih_l{layer}")
        if layer > 0:
            input_weight, input_bias = _acting_on_halved(input_weight, input_bias)
        hidden_weight, hidden_bias = _acting_on_halved(getattr(gru, f"weight_hh_l{layer}"), getattr(gru, f"bias_hh_l{layer}"))
        hidden_weight, hidden_bias = hidden_weight * doubled[:, None], hidden_bias * doubled
        # The reset and update gates' hidden bias joins the input bias; the new gate's is scaled by the reset gate.
        reset_update_hidden_bias = torch.cat([hidden_bias[: 2 * hidden], torch.zeros_like(hidden_bias[2 * hidden :])])
        self.register_buffer("input_weight", (input_weight * doubled[:, None]).t().contiguous())
        self.register_buffer("input_bias", input_bias * doubled + reset_update_hidden_bias)
        self.register_buffer("reset_update_weight", hidden_weight[: 2 * hidden].t().contiguous())
        self.register_buffer("new_weight", hidden_weight[2 * hidden :].t().contiguous())
        self.register_buffer("new_bias", hidden_bias[2 * hidden :].clone())

    def forward(self, inputs: torch.Tensor, input_bias: torch.Tensor) -> torch.Tensor:
        """The halved states (steps, batch, hidden) for `inputs` (steps, batch, columns), from h = 0."""
        steps, batch = inputs.shape[:2]
        hidden = self.new_bias.shape[0]
        states = inputs.new_empty(steps, batch, hidden)
        state = inputs.new_full((batch, hidden), 0.5)
        for step in range(steps):
            gates = torch.addmm(input_bias, inputs[step], self.input_weight)
            reset_update = gates[:, : 2 * hidden].addmm_(state, self.reset_update_weight).sigmoid_()
            new_hidden = torch.addmm(self.new_bias, state, self.new_weight)
            new = gates[:, 2 * hidden :].addcmul_(new_hidden, reset_update[:, :hidden]).sigmoid_()
            state = torch.lerp(new, state, reset_update[:, hidden:], out=states[step])
        return states


class FusedGRUClassifier(nn.Module):
    """`network`'s function (sequences (n, lookback, features), assets (n,)) -> logits, for inference."""

    def __init__(self, network: RecurrentClassifier) -> None:
        super().__init__()
        gru, embedding = network.recurrent, network.embed.embedding.weight
        features = gru.input_size - embedding.shape[1]
        with torch.no_grad():
            inputs = [features] + [gru.hidden_size] * (gru.num_layers - 1)
            self.layers = nn.ModuleList(_FusedGRULayer(gru, layer, width) for layer, width in enumerate(inputs))
            doubled = _new_gate_doubled(gru.hidden_size, embedding.device)
            embedded = embedding @ gru.weight_ih_l0[:, features:].t() * doubled
            self.register_buffer("asset_bias", embedded + self.layers[0].input_bias)
            score, vector = network.attention.score[0], network.attention.score[2]
            score_weight, score_bias = _acting_on_halved(score.weight, score.bias)
            self.register_buffer("score_weight", (2.0 * score_weight).t().contiguous())
            self.register_buffer("score_bias", 2.0 * score_bias)
            self.register_buffer("score_vector", (2.0 * vector.weight).t().contiguous())
            # The head reads the attention-pooled state and the last: both halved (the weights sum to 1).
            head_weight, head_bias = _acting_on_halved(network.head[1].weight, network.head[1].bias)
            self.register_buffer("head_weight", head_weight.t().contiguous())
            self.register_buffer("head_bias", head_bias)

    def forward(self, sequences: torch.Tensor, assets: torch.Tensor) -> torch.Tensor:
        states = sequences.transpose(0, 1)  # steps first: a step's rows are one slice
        for index, layer in enumerate(self.layers):
            states = layer(states, self.asset_bias[assets] if index == 0 else layer.input_bias)
        steps, batch, hidden = states.shape
        flat = states.view(steps * batch, hidden)
        scores = torch.addmm(self.score_bias, flat, self.score_weight).sigmoid_().mm(self.score_vector)
        pooled = (torch.softmax(scores.view(steps, batch, 1), dim=0) * states).sum(dim=0)
        return torch.addmm(self.head_bias, torch.cat([pooled, states[-1]], dim=-1), self.head_weight).squeeze(-1)
