"""Stage 3: autograd computes the gradients.

``b`` and ``w`` are created on the device with ``requires_grad=True`` (creating
them on the CPU and calling ``.to(device)`` would give non-leaf tensors whose
``.grad`` stays ``None``); ``loss.backward()`` fills ``b.grad`` and ``w.grad``;
the update happens under ``torch.no_grad()``; the gradients are zeroed by hand
because they accumulate.
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
    # We can specify the device at the moment of creation
    # RECOMMENDED!
    torch.manual_seed(seed)
    b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
    return dict(b=b, w=w)


def model_training(x_train_tensor, y_train_tensor, b, w, lr, n_epochs, tracker):
    for epoch in range(n_epochs):
        # Step 1 - Computes our model's predicted output - forward pass
        yhat = b + w * x_train_tensor

        # Step 2 - Computes the loss
        # We are using ALL data points, so this is BATCH gradient
        # descent. How wrong is our model? That's the error!
        error = (yhat - y_train_tensor)
        # It is a regression, so it computes mean squared error (MSE)
        loss = (error ** 2).mean()

        # Step 3 - Computes gradients for both "b" and "w" parameters
        # No more manual computation of gradients!
        # b_grad = 2 * error.mean()
        # w_grad = 2 * (x_tensor * error).mean()
        loss.backward()

        # Step 4 - Updates parameters using gradients and
        # the learning rate. But not so fast: this is the third try
        # (%linreg lesson autograd runs all three, with their errors)
        # FIRST - rebinding b as in numpy makes a new b from the old
        # one: not a leaf, so its .grad stays None
        # SECOND - the in-place update below, without no_grad, changes
        # a leaf that requires grad, which autograd refuses
        # THIRD - we need to use NO_GRAD to keep the update out of
        # the gradient computation
        with torch.no_grad():
            b -= lr * b.grad
            w -= lr * w.grad

        # PyTorch is "clingy" to its computed gradients, we
        # need to tell it to let it go...
        b.grad.zero_()
        w.grad.zero_()

        tracker.log(loss, b=b, w=w)
    return dict(b=b, w=w, loss=loss)


STAGE = Stage(
    name="autograd",
    title="Autograd",
    summary="parameters with requires_grad=True on the device; loss.backward(); "
    "update under torch.no_grad(); grad.zero_()",
    data_preparation=data_preparation,
    model_configuration=model_configuration,
    model_training=model_training,
    order=30,
    returns="bw",
)
