# %%linreg --stage loss --device cpu --epochs 100
# expect: not yet: numpy_requires_grad
# the book's cell: loss.cpu().numpy() fails while the loss tracks gradients
losses = []
for epoch in range(n_epochs):
    loss = loss_fn(b + w * x_train_tensor, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    losses.append(loss.cpu().numpy())
