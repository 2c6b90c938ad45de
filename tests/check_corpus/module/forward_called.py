# %%linreg --stage module --device cpu --epochs 100
# expect: correct
for epoch in range(n_epochs):
    model.train()
    yhat = model.forward(x_train_tensor)
    loss = loss_fn(yhat, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
