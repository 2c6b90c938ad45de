"""Lesson ``model``: what a model holds, and what its optimizer holds.

Each function is one cell: its docstring says what it shows, its body is the code
that runs (see :mod:`linreg_magic.lessons.notebook`).  The models are the stages'
own classes.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.optim as optim

from linreg_magic.stages.module import ManualLinearRegression
from linreg_magic.stages.nested import MyLinearRegression


def a_model_s_parameters(seed: int) -> None:
    """parameters() gives the tensors the optimizer updates: the nn.Parameter objects
    themselves, which require gradients.

    The module stage's ManualLinearRegression, made after torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    # Creates a "dummy" instance of our ManualLinearRegression model
    dummy = ManualLinearRegression()
    list(dummy.parameters())


def its_state_dict(dummy: nn.Module) -> None:
    """state_dict() gives each parameter's current values by name, for saving and loading.

    Its tensors are detached (no requires_grad) but share the parameters' memory:
    the same data_ptr."""
    print(dummy.state_dict())
    print(dummy.state_dict()['b'].requires_grad, dummy.b.requires_grad)
    print(dummy.state_dict()['b'].data_ptr() == dummy.b.data_ptr())


def the_optimizer_s_state_dict(dummy: nn.Module, lr: float) -> None:
    """An optimizer has a state_dict too: its settings (lr, momentum, ...) and, once it
    has stepped, its state per parameter, which plain SGD does not need."""
    optimizer = optim.SGD(dummy.parameters(), lr=lr)
    optimizer.state_dict()


def what_train_switches(seed: int) -> None:
    """model.train() sets training mode in the model and every module inside it;
    model.eval() unsets it.

    Our linear models compute the same either way. Layers like Dropout do not: in
    training it zeroes random inputs and scales the rest up, in evaluation it
    passes them through."""
    model = nn.Sequential(nn.Linear(1, 1), nn.Dropout(p=0.5))
    torch.manual_seed(seed)
    model.train()
    print(model.training, [m.training for m in model])
    print(model[1](torch.ones(6)))
    model.eval()
    print(model.training, [m.training for m in model])
    print(model[1](torch.ones(6)))


def sending_the_model_to_the_device(seed: int, device: str) -> None:
    """.to(device) moves every parameter of a model at once; the data must be on the
    same device."""
    torch.manual_seed(seed)
    dummy = ManualLinearRegression().to(device)
    print(dummy.state_dict())


def a_nested_model(seed: int, device: str) -> None:
    """The nested stage's model holds an nn.Linear(1, 1): its weight is our w and its
    bias our b, named after the attribute that holds the layer."""
    torch.manual_seed(seed)
    dummy = MyLinearRegression().to(device)
    print(list(dummy.parameters()))
    dummy.state_dict()


def a_sequential_model(seed: int, device: str) -> None:
    """nn.Sequential runs its layers in order; they are named by their position."""
    torch.manual_seed(seed)
    # Alternatively, you can use a Sequential model
    model = nn.Sequential(nn.Linear(1, 1)).to(device)
    model.state_dict()


def named_layers(seed: int, device: str) -> None:
    """add_module() names the layers: Linear(3, 5) then Linear(5, 1), the book's
    figure (%linreg --stage sequential --features 3 --hidden 5)."""
    torch.manual_seed(seed)
    model = nn.Sequential()
    model.add_module('layer1', nn.Linear(3, 5))
    model.add_module('layer2', nn.Linear(5, 1))
    model.to(device)
    print(model)
    print({name: tuple(value.shape) for name, value in model.state_dict().items()})


CELLS = (a_model_s_parameters, its_state_dict, the_optimizer_s_state_dict, what_train_switches,
         sending_the_model_to_the_device, a_nested_model, a_sequential_model, named_layers)
