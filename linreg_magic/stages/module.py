"""Stage 6: a model of our own, an ``nn.Module``.

``ManualLinearRegression`` wraps ``b`` and ``w`` in ``nn.Parameter`` so that
``model.parameters()`` hands them to the optimizer; ``model.train()`` sets
training mode; ``model(x)`` (not ``model.forward(x)``) makes the prediction; and
``model.state_dict()`` shows the learned values.
"""

import torch
import torch.nn as nn
import torch.optim as optim

from linreg_magic.stage import Stage


class ManualLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        # To make "b" and "w" real parameters of the model,
        # we need to wrap them with nn.Parameter
        self.b = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))
        self.w = nn.Parameter(torch.randn(1, requires_grad=True, dtype=torch.float))

    def forward(self, x):
        # Computes the outputs / predictions
        return self.b + self.w * x


def data_preparation(x_train, y_train, device):
    # Our data was in Numpy arrays, but we need to transform them
    # into PyTorch's Tensors and then we send them to the
    # chosen device
    x_train_tensor = torch.as_tensor(x_train).float().to(device)
    y_train_tensor = torch.as_tensor(y_train).float().to(device)
    return dict(x_train_tensor=x_train_tensor, y_train_tensor=y_train_tensor)


def model_configuration(seed, device, lr):
    # Step 0 - Initializes parameters "b" and "w" randomly
    torch.manual_seed(seed)
    # Now we can create a model and send it at once to the device
    model = ManualLinearRegression().to(device)

    # Defines a SGD optimizer to update the parameters
    # (now retrieved directly from the model)
    optimizer = optim.SGD(model.parameters(), lr=lr)

    # Defines a MSE loss function
    loss_fn = nn.MSELoss(reduction='mean')
    return dict(model=model, optimizer=optimizer, loss_fn=loss_fn)


def model_training(x_train_tensor, y_train_tensor, model, optimizer, loss_fn, n_epochs, tracker):
    for epoch in range(n_epochs):
        model.train()  # What is this?!?

        # Step 1 - Computes model's predicted output - forward pass
        # No more manual prediction!
        yhat = model(x_train_tensor)

        # Step 2 - Computes the loss
        loss = loss_fn(yhat, y_train_tensor)

        # Step 3 - Computes gradients for both "b" and "w" parameters
        loss.backward()

        # Step 4 - Updates parameters using gradients and
        # the learning rate
        optimizer.step()
        optimizer.zero_grad()

        tracker.log(loss, model)

    # We can also inspect its parameters using its state_dict
    print(model.state_dict())
    return dict(model=model, loss=loss)


STAGE = Stage(
    name="module",
    title="A model of our own (nn.Module)",
    summary="ManualLinearRegression(nn.Module) with nn.Parameter; model.train(); state_dict()",
    data_preparation=data_preparation,
    model_configuration=model_configuration,
    model_training=model_training,
    order=60,
)
