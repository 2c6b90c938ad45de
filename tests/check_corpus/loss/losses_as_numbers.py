# %%linreg --stage loss --device cpu --epochs 100
# expect: correct
losses = []
for epoch in range(n_epochs):
    loss = loss_fn(b + w * x_train_tensor, y_train_tensor)
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    losses.append(loss.item())
