"""Lesson ``tensors``: making tensors, their shapes, and which operations copy.

Each function is one cell: its docstring says what it shows, its body is the code
that runs (see :mod:`linreg_magic.lessons.notebook`).
"""

from __future__ import annotations

import torch


def creating_tensors(seed: int) -> None:
    """Scalars, vectors, matrices and tensors are all tensors.

    torch.tensor() takes Python numbers or lists; ones() and randn() take a shape."""
    torch.manual_seed(seed)
    scalar = torch.tensor(3.14159)
    vector = torch.tensor([1, 2, 3])
    matrix = torch.ones((2, 3), dtype=torch.float)
    tensor = torch.randn((2, 3, 4), dtype=torch.float)

    print(scalar)
    print(vector)
    print(matrix)
    print(tensor)


def sizes_and_shapes(scalar: torch.Tensor, tensor: torch.Tensor) -> None:
    """.size() and .shape say the same thing.

    A scalar's shape is empty: it has no dimensions."""
    print(tensor.size(), tensor.shape)
    print(scalar.size(), scalar.shape)


def view_shares_storage(matrix: torch.Tensor) -> None:
    """view() gives the same numbers in a new shape: change one, the other changes.

    Both tensors point at the same memory: their data_ptr() is the same address."""
    # We get a tensor with a different shape but it still is
    # the SAME tensor
    same_matrix = matrix.view(1, 6)
    # If we change one of its elements...
    same_matrix[0, 1] = 2.
    # It changes both variables: matrix and same_matrix
    print(matrix)
    print(same_matrix)
    print(matrix.data_ptr(), same_matrix.data_ptr(), same_matrix.data_ptr() == matrix.data_ptr())


def new_tensor_copies(matrix: torch.Tensor) -> None:
    """new_tensor() really copies: the original stays as it was.

    PyTorch warns and suggests detach().clone(), the next cell's way."""
    # "new_tensor" makes a REAL copy, in memory of its own
    different_matrix = matrix.new_tensor(matrix.view(1, 6))
    # Now, if we change one of its elements...
    different_matrix[0, 1] = 3.
    # The original tensor (matrix) is left untouched!
    print(matrix)
    print(different_matrix)
    print(different_matrix.data_ptr() == matrix.data_ptr())


def clone_detach_copies(matrix: torch.Tensor) -> None:
    """clone() copies the numbers; detach() leaves the copy out of autograd's graph.

    The way PyTorch recommends to copy a tensor."""
    another_matrix = matrix.view(1, 6).clone().detach()
    # Again, if we change one of its elements...
    another_matrix[0, 1] = 4.
    # The original tensor (matrix) is left untouched!
    print(matrix)
    print(another_matrix)
    print(another_matrix.data_ptr() == matrix.data_ptr())


CELLS = (creating_tensors, sizes_and_shapes, view_shares_storage, new_tensor_copies, clone_detach_copies)
