# %%linreg --stage numpy --epochs 100
# expect: not yet: loss_sum
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    b_grad = 2 * error.sum()
    w_grad = 2 * (x_train * error).sum()
    b = b - lr * b_grad
    w = w - lr * w_grad
