# %%linreg --stage autograd --device cpu --epochs 100
# expect: not yet: no_zero_grad
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
