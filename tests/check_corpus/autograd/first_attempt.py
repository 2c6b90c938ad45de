# %%linreg --stage autograd --device cpu --epochs 100
# expect: not yet: rebinding
# the book's FIRST ATTEMPT
for epoch in range(n_epochs):
    yhat = b + w * x_train_tensor
    error = (yhat - y_train_tensor)
    loss = (error ** 2).mean()
    loss.backward()
    b = b - lr * b.grad
    w = w - lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
