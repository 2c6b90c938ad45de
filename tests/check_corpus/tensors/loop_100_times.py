# %%linreg --stage tensors --device cpu --epochs 200
# expect: not yet: epochs
n_epochs = 100
for epoch in range(n_epochs):
    error = b + w * x_train_tensor - y_train_tensor
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train_tensor * error).mean()
