# %%linreg --stage sequential --device cpu --features 3 --epochs 100
# expect: not yet: shape
for epoch in range(n_epochs):
    model.train()
    yhat = model(x_train_tensor).squeeze()
    loss = loss_fn(yhat, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
