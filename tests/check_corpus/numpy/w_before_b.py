# %%linreg --stage numpy --epochs 100
# expect: correct
np.random.seed(42)
w = np.random.randn(1)
b = np.random.randn(1)
for epoch in range(n_epochs):
    error = b + w * x_train - y_train
    b_grad, w_grad = 2 * error.mean(), 2 * (x_train * error).mean()
    b, w = b - lr * b_grad, w - lr * w_grad
