# %%linreg --stage loss --device cpu --epochs 100
# expect: not yet: shape
for epoch in range(n_epochs):
    yhat = b + w * x_train_tensor
    loss = loss_fn(yhat, y_train_tensor.squeeze())
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
