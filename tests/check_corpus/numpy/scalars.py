# %%linreg --stage numpy --epochs 100
# expect: correct
# plain Python floats instead of 1-element arrays
b, w = float(b[0]), float(w[0])
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train * error).mean()
