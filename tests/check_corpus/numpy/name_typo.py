# %%linreg --stage numpy --epochs 100
# expect: not yet: name
for epoch in range(n_epochs):
    error = b + w * x_trian - y_train
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train * error).mean()
