# %%linreg --stage module --device cpu --epochs 100
# expect: correct
for epoch in range(n_epochs):
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
