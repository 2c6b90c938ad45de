# %%linreg --stage numpy --epochs 100
# expect: correct
n = len(x_train)
losses = []
for epoch in range(n_epochs):
    yhat = b + w * x_train
    error = yhat - y_train
    loss = (error ** 2).sum() / n
    b_grad = 2 * error.sum() / n
    w_grad = 2 * (x_train * error).sum() / n
    b = b - lr * b_grad
    w = w - lr * w_grad
    losses.append(loss)
