# %%linreg --stage tensors --device cpu --epochs 100
# expect: correct
for epoch in range(n_epochs):
    yhat = b + w * x_train_tensor
    error = (yhat - y_train_tensor)
    loss = (error ** 2).mean()
    b_grad = 2 * error.mean()
    w_grad = 2 * (x_train_tensor * error).mean()
    b = b - lr * b_grad
    w = w - lr * w_grad
