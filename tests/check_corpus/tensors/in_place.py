# %%linreg --stage tensors --device cpu --epochs 100
# expect: correct
for epoch in range(n_epochs):
    error = b + w * x_train_tensor - y_train_tensor
    b -= lr * 2 * error.mean()
    w -= lr * 2 * (x_train_tensor * error).mean()
