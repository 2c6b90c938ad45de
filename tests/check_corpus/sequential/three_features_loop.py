# %%linreg --stage sequential --device cpu --features 3 --epochs 100
# expect: correct
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
