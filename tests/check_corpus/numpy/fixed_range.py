# %%linreg --stage numpy --epochs 100
# expect: not yet: epochs
for epoch in range(30):
    error = b + w * x_train - y_train
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train * error).mean()
