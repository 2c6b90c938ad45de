# %%linreg --stage loss --device cpu --epochs 100
# expect: note: stage
for epoch in range(n_epochs):
    error = b + w * x_train_tensor - y_train_tensor
    loss = (error ** 2).mean()
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
