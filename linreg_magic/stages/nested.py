"""Stage 7: a model nested inside our model.

``MyLinearRegression`` wraps ``nn.Linear(1, 1)``, which holds the weight (our
``w``) and the bias (our ``b``).  The book's version of ``forward`` forgets its
``return``; this one returns the prediction.
"""

import torch
import torch.nn as nn
import torch.optim as optim

from linreg_magic.stage import Stage


class MyLinearRegression(nn.Module):
    def __init__(self):
        super().__init__()
        # Instead of our custom parameters, we use a Linear model
        # with single input and single output
        self.linear = nn.Linear(1, 1)

    def forward(self, x):
        # Now it only takes a call
        # (and it must return the result: without "return",
        # forward gives None and the loss cannot be computed)
        return self.linear(x)


def data_preparation(x_train, y_train, device):
    # Our data was in Numpy arrays, but we need to transform them
    # into PyTorch's Tensors and then we send them to the
    # chosen device
    x_train_tensor = torch.as_tensor(x_train).float().to(device)
    y_train_tensor = torch.as_tensor(y_train).float().to(device)
    return dict(x_train_tensor=x_train_tensor, y_train_tensor=y_train_tensor)


def model_configuration(seed, device, lr):
    # Step 0 - Initializes the model's weight and bias randomly
    torch.manual_seed(seed)
    # Now we can create a model and send it at once to the device
    model = MyLinearRegression().to(device)

    # Defines a SGD optimizer to update the parameters
    # (now retrieved directly from the model)
    optimizer = optim.SGD(model.parameters(), lr=lr)

    # Defines a MSE loss function
    loss_fn = nn.MSELoss(reduction='mean')
    return dict(model=model, optimizer=optimizer, loss_fn=loss_fn)


def model_training(x_train_tensor, y_train_tensor, model, optimizer, loss_fn, n_epochs, tracker):
    for epoch in range(n_epochs):
        model.train()

        # Step 1 - Computes model's predicted output - forward pass
        yhat = model(x_train_tensor)

        # Step 2 - Computes the loss
        loss = loss_fn(yhat, y_train_tensor)

        # Step 3 - Computes gradients for the weight and the bias
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
    name="nested",
    title="Nested models",
    summary="a custom module wrapping nn.Linear(1, 1) (with the return the book forgets)",
    data_preparation=data_preparation,
    model_configuration=model_configuration,
    model_training=model_training,
    order=70,
)
