"""Lesson ``graph``: the dynamic computation graph autograd builds as the code runs.

Each function is one cell: its docstring says what it shows, its body is the code
that runs (see :mod:`linreg_magic.lessons.notebook`).  A cell that ends with
``make_dot(...)`` shows the graph drawn.
"""

from __future__ import annotations

import numpy as np
import torch
from torchviz import make_dot

from linreg_magic.views.graph import render_graph


def the_data_on_the_device(x_train: np.ndarray, y_train: np.ndarray, device: str) -> None:
    """The training data as float32 tensors on the device, as the stages prepare them."""
    x_train_tensor = torch.as_tensor(x_train).float().to(device)
    y_train_tensor = torch.as_tensor(y_train).float().to(device)


def the_graph_of_yhat(seed: int, device: str, x_train_tensor: torch.Tensor,
                      y_train_tensor: torch.Tensor) -> None:
    """The graph behind the prediction yhat = b + w * x.

    Blue boxes are the tensors that require gradients (b and w, each of shape (1)), the
    green one is yhat (shape (80, 1)); the grey ones are the operations backward() will
    go through: MulBackward0 for w * x, AddBackward0 for b + ... ."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    # Step 1 - Computes our model's predicted output - forward pass
    yhat = b + w * x_train_tensor
    # Step 2 - Computes the loss
    error = (yhat - y_train_tensor)
    loss = (error ** 2).mean()
    # We can try plotting the graph for any python variable:
    # yhat, error, loss...
    make_dot(yhat)


def the_graph_of_the_loss(loss: torch.Tensor) -> None:
    """The loss's graph goes on from yhat: the error (SubBackward0), its square
    (PowBackward0) and the mean (MeanBackward0), down to the loss, the green box.

    backward() walks it the other way, from the loss up to b and w."""
    make_dot(loss)


def a_tensor_without_gradients_leaves_no_box(device: str, x_train_tensor: torch.Tensor) -> None:
    """Make b a plain tensor (requires_grad=False) and it vanishes from the graph:
    autograd records only what leads to tensors that require gradients."""
    b_nograd = torch.randn(1, requires_grad=False, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)

    yhat = b_nograd + w * x_train_tensor

    make_dot(yhat)


def the_graph_follows_the_code_that_ran(device: str, x_train_tensor: torch.Tensor,
                                        y_train_tensor: torch.Tensor) -> None:
    """The graph is built while the code runs, so Python's if decides what is in it.

    This loss makes no sense, on purpose: the branch that ran adds its own nodes."""
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)

    yhat = b + w * x_train_tensor
    error = yhat - y_train_tensor
    loss = (error ** 2).mean()

    # this makes no sense!!
    if loss > 0:
        yhat2 = w * x_train_tensor
        error2 = yhat2 - y_train_tensor

    # neither does this :-)
    loss += error2.mean()

    make_dot(loss)


def show(value: object) -> str:
    """A graph's text: its operations, from the output back (the drawing comes under it)."""
    labels = [" ".join(label.split()) for label in render_graph(value).node_labels]
    return "graph: " + ", ".join(label for label in labels if label)


CELLS = (the_data_on_the_device, the_graph_of_yhat, the_graph_of_the_loss,
         a_tensor_without_gradients_leaves_no_box, the_graph_follows_the_code_that_ran)
