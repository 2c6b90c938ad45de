# %%linreg --stage autograd --device cpu --epochs 100
# expect: note: stage
for epoch in range(n_epochs):
    error = b + w * x_train_tensor - y_train_tensor
    b_grad = 2 * error.mean()
    w_grad = 2 * (x_train_tensor * error).mean()
    with torch.no_grad():
        b -= lr * b_grad
        w -= lr * w_grad
