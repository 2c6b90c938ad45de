# %%linreg --stage numpy --epochs 100
# expect: correct
def gradient_step(b, w, lr):
    error = b + w * x_train - y_train
    b_grad = 2 * error.mean()
    w_grad = 2 * (x_train * error).mean()
    return b - lr * b_grad, w - lr * w_grad

for epoch in range(n_epochs):
    b, w = gradient_step(b, w, lr)
