# %%linreg --stage numpy --epochs 100
# expect: not yet: flipped_sign
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    b_grad = 2 * error.mean()
    w_grad = 2 * (x_train * error).mean()
    b = b + lr * b_grad
    w = w + lr * w_grad
