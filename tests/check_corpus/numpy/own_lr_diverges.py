# %%linreg --stage numpy --epochs 100
# expect: not yet: own_lr
lr = 1.5
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train * error).mean()
