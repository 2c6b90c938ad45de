"""Lesson ``devices``: from numpy to tensors, onto the device, and back.

Each function is one cell: its docstring says what it shows, its body is the code
that runs (see :mod:`linreg_magic.lessons.notebook`).
"""

from __future__ import annotations

import numpy as np
import torch


def as_tensor_keeps_the_dtype(x_train: np.ndarray) -> None:
    """torch.as_tensor() turns a numpy array into a tensor of the same dtype.

    numpy's float64 stays float64, and the tensor uses the array's memory: the same
    address, no copy."""
    x_train_tensor = torch.as_tensor(x_train)
    print(x_train_tensor.data_ptr() == x_train.ctypes.data)
    x_train.dtype, x_train_tensor.dtype


def float_makes_float32(x_train_tensor: torch.Tensor) -> None:
    """.float() gives float32, what GPUs and the model's parameters use.

    That is a conversion, so it is a copy in memory of its own."""
    float_tensor = x_train_tensor.float()
    float_tensor.dtype, float_tensor.data_ptr() == x_train_tensor.data_ptr()


def as_tensor_shares_memory() -> None:
    """Change the numpy array, and the tensor made with as_tensor() changes too.

    They are one piece of memory seen two ways; .numpy() goes back the same way."""
    dummy_array = np.array([1, 2, 3])
    dummy_tensor = torch.as_tensor(dummy_array)
    # Modifies the numpy array
    dummy_array[1] = 0
    # Tensor gets modified too...
    print(dummy_tensor)
    print(dummy_tensor.data_ptr() == dummy_array.ctypes.data)
    dummy_tensor.numpy()


def choosing_the_device(device: str) -> None:
    """The book picks the GPU when there is one.

    %linreg picks the device from --device (auto: CUDA, else Apple's MPS, else the
    CPU); this lesson runs on the one it picked."""
    print('cuda' if torch.cuda.is_available() else 'cpu')
    print(device)


def your_gpus_by_name() -> None:
    """How many CUDA GPUs this machine has, and their names."""
    n_cudas = torch.cuda.device_count()
    print(n_cudas, "CUDA GPU(s); torch built for CUDA", torch.version.cuda)
    for i in range(n_cudas):
        print(torch.cuda.get_device_name(i))


def sending_a_tensor_to_the_device(x_train: np.ndarray, device: str) -> None:
    """.to(device) returns the tensor on the device (a copy, unless it is there already).

    On a GPU the printed tensor says device='cuda:0'. Apple's MPS has no float64, so
    there this fails: .float() first, as the next cell does, is the way."""
    gpu_tensor = torch.as_tensor(x_train).to(device)
    gpu_tensor[0]


def type_says_where_it_lives(x_train: np.ndarray, device: str) -> None:
    """The data as the stages prepare it: float32 tensors on the device.

    .type() names the device too: torch.FloatTensor on the CPU, torch.cuda.FloatTensor
    on a GPU."""
    x_train_tensor = torch.as_tensor(x_train).float().to(device)
    print(type(x_train), type(x_train_tensor), x_train_tensor.type())


def numpy_needs_the_cpu(x_train_tensor: torch.Tensor) -> None:
    """.numpy() works only for a tensor in the CPU's memory.

    On the CPU this shows the first rows; on a GPU it raises a TypeError, and the
    next cell's .cpu() is the fix."""
    x_train_tensor.numpy()[:3]


def back_to_numpy(x_train_tensor: torch.Tensor) -> None:
    """.cpu().numpy() works on any device: a copy to the CPU first, if needed."""
    back_to_numpy = x_train_tensor.cpu().numpy()
    print(type(back_to_numpy), back_to_numpy.dtype, back_to_numpy.shape)


def numpy_refuses_a_tensor_that_requires_grad(seed: int, device: str) -> None:
    """A tensor that requires grad (a parameter, a loss) cannot go to numpy directly.

    numpy knows nothing of gradients."""
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    loss = (b ** 2).mean()
    loss.cpu().numpy()


def detach_then_numpy_or_item(loss: torch.Tensor) -> None:
    """detach() first; or .item() for a tensor holding one number.

    .item() and .tolist() give plain Python numbers."""
    print(repr(loss.detach().cpu().numpy()))
    print(loss.item(), loss.tolist())


CELLS = (as_tensor_keeps_the_dtype, float_makes_float32, as_tensor_shares_memory, choosing_the_device,
         your_gpus_by_name, sending_a_tensor_to_the_device, type_says_where_it_lives, numpy_needs_the_cpu,
         back_to_numpy, numpy_refuses_a_tensor_that_requires_grad, detach_then_numpy_or_item)
