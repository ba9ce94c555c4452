"""PyTorch: eager (channels-first, as most users write it), eager channels_last, torch.compile."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from . import dense_rows_hwc_to_chw, keras_weights_to_oihw


def network(weights: list[np.ndarray]) -> nn.Sequential:
    net = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.Conv2d(32, 64, 3), nn.ReLU(),
                        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(), nn.Linear(9216, 128),
                        nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    k1, b1, k2, b2, d1, c1, d2, c2 = weights
    with torch.no_grad():
        for module, w, b in ((net[0], keras_weights_to_oihw(k1), b1),
                             (net[2], keras_weights_to_oihw(k2), b2),
                             (net[7], dense_rows_hwc_to_chw(d1, 12, 12, 64).T, c1),
                             (net[10], d2.T, c2)):
            module.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            module.bias.copy_(torch.from_numpy(b))
    return net


class TorchPeer:
    def __init__(self, weights: list[np.ndarray], variant: str):
        self.channels_last = variant == "channels_last"
        self.net = network(weights)
        if self.channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.optimizer = torch.optim.Adadelta(self.net.parameters(), lr=1.0, rho=0.95, eps=1e-7)
        self.loss = nn.CrossEntropyLoss()
        self.train_net = self.infer_net = self.net
        if variant == "compile":
            self.train_net = torch.compile(self.net)
            self.infer_net = torch.compile(self.net)

    def native(self, x: np.ndarray) -> torch.Tensor:
        t = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last else t

    def set_train_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x, self.y = self.native(x), torch.from_numpy(y.argmax(1))

    def train_step(self) -> None:
        self.net.train()
        self.optimizer.zero_grad(set_to_none=True)
        self.loss(self.train_net(self.x), self.y).backward()
        self.optimizer.step()

    def predict(self, x: torch.Tensor, batch_size: int) -> torch.Tensor:
        self.net.eval()
        with torch.inference_mode():
            return torch.cat([torch.softmax(self.infer_net(x[i:i + batch_size]), dim=1)
                              for i in range(0, len(x), batch_size)])


def make(weights: list[np.ndarray], variant: str, threads: int) -> TorchPeer:
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    return TorchPeer(weights, variant)
