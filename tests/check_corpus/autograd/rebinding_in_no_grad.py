# %%linreg --stage autograd --device cpu --epochs 100
# expect: not yet: rebinding
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b = b - lr * b.grad
        w = w - lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
