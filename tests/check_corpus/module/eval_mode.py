# %%linreg --stage module --device cpu --epochs 100
# expect: correct
model.eval()
for epoch in range(n_epochs):
    yhat = model(x_train_tensor)
    loss = loss_fn(yhat, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
