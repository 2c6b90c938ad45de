# %%linreg --stage loss --device cpu --epochs 100
# expect: correct
# the squared error is symmetric: (y - yhat)**2 == (yhat - y)**2
for epoch in range(n_epochs):
    loss = loss_fn(y_train_tensor, b + w * x_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
