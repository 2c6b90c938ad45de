# %%linreg --stage numpy --epochs 100
# expect: correct
for epoch in range(n_epochs):
    error = (b + w * x_train) - y_train
    b -= lr * 2 * error.mean()
    w -= lr * 2 * (x_train * error).mean()
