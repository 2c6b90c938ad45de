# %%linreg --stage numpy --epochs 100
# expect: correct
# other names inside the loop, handed over as b and w at the end
np.random.seed(42)
bias = np.random.randn(1)
weight = np.random.randn(1)
eta = 0.1
for step in range(n_epochs):
    residual = bias + weight * x_train - y_train
    bias = bias - eta * 2 * residual.mean()
    weight = weight - eta * 2 * (residual * x_train).mean()
b, w = bias, weight
