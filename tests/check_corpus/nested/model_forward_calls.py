# %%linreg --stage nested --device cpu --epochs 100
# expect: correct
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model.linear(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
