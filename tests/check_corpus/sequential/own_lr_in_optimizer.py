# %%linreg --stage sequential --device cpu --epochs 100
# expect: note: own_lr
optimizer = optim.SGD(model.parameters(), lr=0.3)
for epoch in range(n_epochs):
    model.train()
    loss = loss_fn(model(x_train_tensor), y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
