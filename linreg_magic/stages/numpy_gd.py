"""Stage 1: batch gradient descent by hand, in numpy.

Forward pass, mean squared error, hand-written gradients and the update: the five
steps the rest of the ladder hands over to PyTorch one by one.
"""

import numpy as np

from linreg_magic.stage import Stage


def model_configuration(seed):
    # Step 0 - Initializes parameters "b" and "w" randomly
    np.random.seed(seed)
    b = np.random.randn(1)
    w = np.random.randn(1)
    return dict(b=b, w=w)


def model_training(x_train, y_train, b, w, lr, n_epochs, tracker):
    for epoch in range(n_epochs):
        # Step 1 - Computes our model's predicted output - forward pass
        yhat = b + w * x_train

        # Step 2 - Computing the loss
        # We are using ALL data points, so this is BATCH gradient
        # descent. How wrong is our model? That's the error!
        error = (yhat - y_train)
        # It is a regression, so it computes mean squared error (MSE)
        loss = (error ** 2).mean()

        # Step 3 - Computes gradients for both "b" and "w" parameters
        b_grad = 2 * error.mean()
        w_grad = 2 * (x_train * error).mean()

        # Step 4 - Updates parameters using gradients and
        # the learning rate
        b = b - lr * b_grad
        w = w - lr * w_grad

        tracker.log(loss, b=b, w=w)
    return dict(b=b, w=w)


STAGE = Stage(
    name="numpy",
    title="Gradient descent in numpy",
    summary="batch gradient descent by hand: forward, MSE, hand-written gradients, update",
    model_configuration=model_configuration,
    model_training=model_training,
    order=10,
    uses_torch=False,
    returns="bw",
    graph_note="numpy has no autograd: the gradients are written by hand, so there is no graph to draw",
)
