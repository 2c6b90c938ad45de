"""Lesson ``parameters``: tensors that require gradients, and where to create them.

Each function is one cell: its docstring says what it shows, its body is the code
that runs (see :mod:`linreg_magic.lessons.notebook`).
"""

from __future__ import annotations

import torch


def parameters_that_require_grad(seed: int) -> None:
    """requires_grad=True asks autograd to compute gradients for b and w.

    Made by torch.randn itself, they are leaves of the graph: backward() fills
    their .grad."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float)
    w = torch.randn(1, requires_grad=True, dtype=torch.float)
    print(b, w)
    print(b.is_leaf, b.device)


def sending_them_to_the_device_after(seed: int, device: str) -> None:
    """.to(device) after requires_grad=True: on a GPU, b becomes a copy that is not a leaf.

    The copy has a grad_fn (ToCopyBackward0) and its .grad stays None, so the update
    never reaches it. On the CPU, .to('cpu') returns the very same tensor, which
    hides the mistake: the next cell makes such a copy on any machine."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float).to(device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float).to(device)
    print(b, w)
    print(b.is_leaf, b.grad_fn)


def a_copy_is_not_a_leaf(seed: int) -> None:
    """What a copy made by .to() does to the gradient.

    .to(torch.float64) copies on any machine, as .to('cuda') does on a GPU: the
    gradient goes past the copy to the tensor it was made from."""
    torch.manual_seed(seed)
    original = torch.randn(1, requires_grad=True, dtype=torch.float)
    copy = original.to(torch.float64)
    (2 * copy).sum().backward()
    print(copy.is_leaf, copy.grad_fn)
    print(copy.grad)
    print(original.grad)


def requires_grad_after_sending(seed: int, device: str) -> None:
    """Send plain tensors to the device first, then ask for gradients with requires_grad_().

    The trailing underscore: an in-place method, it changes b itself."""
    torch.manual_seed(seed)
    b = torch.randn(1, dtype=torch.float).to(device)
    w = torch.randn(1, dtype=torch.float).to(device)
    # and THEN set them as requiring gradients...
    b.requires_grad_()
    w.requires_grad_()
    print(b, w)
    print(b.is_leaf)


def creating_them_on_the_device(seed: int, device: str) -> None:
    """Best: create them on the device, with device=device (what the stages do).

    On a GPU they come from the GPU's random generator, so they start from other
    values than the CPU's 0.3367 and 0.1288."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    print(b, w)
    print(b.is_leaf)


CELLS = (parameters_that_require_grad, sending_them_to_the_device_after, a_copy_is_not_a_leaf,
         requires_grad_after_sending, creating_them_on_the_device)
