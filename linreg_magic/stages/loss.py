"""Stage 5: a loss function object.

``nn.MSELoss(reduction='mean')`` replaces the hand-written mean squared error;
it computes exactly the same number.
"""

import torch
import torch.nn as nn
import torch.optim as optim

from linreg_magic.stage import Stage


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
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)

    # Defines a SGD optimizer to update the parameters
    optimizer = optim.SGD([b, w], lr=lr)

    # Defines a MSE loss function
    loss_fn = nn.MSELoss(reduction='mean')
    return dict(b=b, w=w, optimizer=optimizer, loss_fn=loss_fn)


def model_training(x_train_tensor, y_train_tensor, b, w, optimizer, loss_fn, n_epochs, tracker):
    for epoch in range(n_epochs):
        # Step 1 - Computes our model's predicted output - forward pass
        yhat = b + w * x_train_tensor

        # Step 2 - Computes the loss
        # No more manual loss!
        # error = (yhat - y_train_tensor)
        # loss = (error ** 2).mean()
        loss = loss_fn(yhat, y_train_tensor)

        # Step 3 - Computes gradients for both "b" and "w" parameters
        loss.backward()

        # Step 4 - Updates parameters using gradients and
        # the learning rate
        optimizer.step()
        optimizer.zero_grad()

        tracker.log(loss, b=b, w=w)
    return dict(b=b, w=w, loss=loss)


STAGE = Stage(
    name="loss",
    title="Loss function",
    summary="nn.MSELoss(reduction='mean') replaces the hand-written MSE",
    data_preparation=data_preparation,
    model_configuration=model_configuration,
    model_training=model_training,
    order=50,
    returns="bw",
)
