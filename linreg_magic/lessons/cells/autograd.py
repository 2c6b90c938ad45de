"""Lesson ``autograd``: backward(), .grad, zeroing, and the three attempts at the update.

Each function is one cell: its docstring says what it shows, its body is the code
that runs (see :mod:`linreg_magic.lessons.notebook`).  Some cells fail on purpose:
their error is what they show.
"""

from __future__ import annotations

import numpy as np
import torch


def the_data_on_the_device(x_train: np.ndarray, y_train: np.ndarray, device: str) -> None:
    """The training data as float32 tensors on the device, as the stages prepare them."""
    x_train_tensor = torch.as_tensor(x_train).float().to(device)
    y_train_tensor = torch.as_tensor(y_train).float().to(device)


def backward_computes_the_gradients(seed: int, device: str, x_train_tensor: torch.Tensor,
                                    y_train_tensor: torch.Tensor) -> None:
    """loss.backward() computes the gradient of the loss for every tensor that requires it.

    Everything computed from b and w requires grad too; the data do not."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    # Step 1 - Computes our model's predicted output - forward pass
    yhat = b + w * x_train_tensor
    # Step 2 - Computes the loss
    error = (yhat - y_train_tensor)
    loss = (error ** 2).mean()
    # Step 3 - Computes gradients for both "b" and "w" parameters
    loss.backward()
    print(error.requires_grad, yhat.requires_grad, b.requires_grad, w.requires_grad)
    print(y_train_tensor.requires_grad, x_train_tensor.requires_grad)


def the_gradients_are_in_grad(b: torch.Tensor, w: torch.Tensor) -> None:
    """.grad holds them: the same numbers as the hand formulas 2 * error.mean() and
    2 * (x * error).mean()."""
    print(b.grad, w.grad)


def gradients_accumulate(b: torch.Tensor, w: torch.Tensor, x_train_tensor: torch.Tensor,
                         y_train_tensor: torch.Tensor) -> None:
    """Run the forward pass and backward() again: the new gradients are added to the old.

    Twice the numbers above: backward() adds, it does not replace."""
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    print(b.grad, w.grad)


def zeroing_the_gradients(b: torch.Tensor, w: torch.Tensor) -> None:
    """So the loop zeroes them after every update, in place (the trailing underscore)."""
    b.grad.zero_(), w.grad.zero_()


def first_attempt_a_new_b(seed: int, device: str, lr: float, x_train_tensor: torch.Tensor,
                          y_train_tensor: torch.Tensor) -> None:
    """First attempt at the update: the numpy code, b = b - lr * b.grad.

    The new b is computed from the old one, so it is not a leaf any more: its .grad
    is None (PyTorch warns), and zeroing it fails."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()

    b = b - lr * b.grad
    w = w - lr * w.grad
    print(b)
    b.grad.zero_()


def second_attempt_in_place(seed: int, device: str, lr: float, x_train_tensor: torch.Tensor,
                            y_train_tensor: torch.Tensor) -> None:
    """Second attempt: change b in place, b -= lr * b.grad.

    Autograd refuses: an in-place change of a leaf that requires grad would be
    recorded in the graph it is computing gradients through."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()

    b -= lr * b.grad
    w -= lr * w.grad


def third_attempt_under_no_grad(seed: int, device: str, lr: float, x_train_tensor: torch.Tensor,
                                y_train_tensor: torch.Tensor) -> None:
    """Third attempt: the same in-place update under torch.no_grad(). It works.

    Inside no_grad nothing is recorded, so b stays the same leaf, with new values;
    then the gradients are zeroed for the next epoch. This is the autograd stage's
    update (%linreg code autograd)."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()

    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
    print(b, w)
    print(b.is_leaf, b.grad)


CELLS = (the_data_on_the_device, backward_computes_the_gradients, the_gradients_are_in_grad,
         gradients_accumulate, zeroing_the_gradients, first_attempt_a_new_b, second_attempt_in_place,
         third_attempt_under_no_grad)
