# %%linreg --stage numpy --epochs 100
# expect: not yet: gradient
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    b_grad = error.mean()
    w_grad = (x_train * error).mean()
    b = b - lr * b_grad
    w = w - lr * w_grad
