"""Stage 8: ``nn.Sequential``.

For one feature, the whole model is ``nn.Sequential(nn.Linear(1, 1))``: no class
of our own.  With more features and hidden units (``--features 3 --hidden 5``),
named layers are added one by one with ``add_module`` (the book's
``Linear(3, 5) -> Linear(5, 1)`` example).  Two linear layers in a row are still
one linear map: ``layer2(layer1(x)) = x @ (W2 @ W1).T + (W2 @ b1 + b2)``.
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


def model_configuration(seed, device, lr, n_features, n_hidden):
    # Step 0 - Initializes the layers' weights and biases randomly
    torch.manual_seed(seed)
    if n_hidden:
        # Building the model from the figure in the book,
        # with named layers
        model = nn.Sequential()
        model.add_module('layer1', nn.Linear(n_features, n_hidden))
        model.add_module('layer2', nn.Linear(n_hidden, 1))
        model.to(device)
    else:
        # Alternatively, you can use a Sequential model
        model = nn.Sequential(nn.Linear(n_features, 1)).to(device)

    # Defines a SGD optimizer to update the parameters
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

        # Step 3 - Computes gradients for every weight and bias
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
    name="sequential",
    title="nn.Sequential",
    summary="nn.Sequential(nn.Linear(1, 1)); with --features/--hidden, named layers via add_module",
    data_preparation=data_preparation,
    model_configuration=model_configuration,
    model_training=model_training,
    order=80,
    multi_feature=True,
)
