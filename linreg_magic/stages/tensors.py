"""Stage 2: the same loop on torch tensors, moved to the device.

The data become tensors with ``torch.as_tensor(...).float().to(device)``; the
gradients are still written by hand.
"""

import torch

from linreg_magic.stage import Stage


def data_preparation(x_train, y_train, device):
    # Our data was in Numpy arrays, but we need to transform them
    # into PyTorch's Tensors and then we send them to the
    # chosen device
    x_train_tensor = torch.as_tensor(x_train).float().to(device)
    y_train_tensor = torch.as_tensor(y_train).float().to(device)
    return dict(x_train_tensor=x_train_tensor, y_train_tensor=y_train_tensor)


def model_configuration(seed, device):
    # Step 0 - Initializes parameters "b" and "w" randomly
    torch.manual_seed(seed)
    b = torch.randn(1, dtype=torch.float, device=device)
    w = torch.randn(1, dtype=torch.float, device=device)
    return dict(b=b, w=w)


def model_training(x_train_tensor, y_train_tensor, b, w, lr, n_epochs, tracker):
    for epoch in range(n_epochs):
        # Step 1 - Computes our model's predicted output - forward pass
        yhat = b + w * x_train_tensor

        # Step 2 - Computes the loss
        error = (yhat - y_train_tensor)
        loss = (error ** 2).mean()

        # Step 3 - Computes gradients for both "b" and "w" parameters
        # (still by hand: the tensors do not track gradients yet)
        b_grad = 2 * error.mean()
        w_grad = 2 * (x_train_tensor * error).mean()

        # Step 4 - Updates parameters using gradients and
        # the learning rate
        b = b - lr * b_grad
        w = w - lr * w_grad

        tracker.log(loss, b=b, w=w)
    return dict(b=b, w=w)


STAGE = Stage(
    name="tensors",
    title="Tensors on the device",
    summary="the same loop on torch tensors moved to the device; gradients still by hand",
    data_preparation=data_preparation,
    model_configuration=model_configuration,
    model_training=model_training,
    order=20,
    returns="bw",
    graph_note="these tensors do not require gradients, so autograd records no graph yet "
    "(the next stage, autograd, has one)",
)
