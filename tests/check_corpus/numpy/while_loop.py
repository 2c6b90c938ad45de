# %%linreg --stage numpy --epochs 100
# expect: correct
epoch = 0
while epoch < n_epochs:
    error = b + w * x_train - y_train
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train * error).mean()
    epoch += 1
