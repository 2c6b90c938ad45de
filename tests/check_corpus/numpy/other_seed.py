# %%linreg --stage numpy --epochs 100
# expect: correct
np.random.seed(7)
b = np.random.randn(1)
w = np.random.randn(1)
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    b = b - lr * 2 * error.mean()
    w = w - lr * 2 * (x_train * error).mean()
