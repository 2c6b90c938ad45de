# %%linreg --stage autograd --device cpu --epochs 100
# expect: not yet: loss_sum
for epoch in range(n_epochs):
    error = b + w * x_train_tensor - y_train_tensor
    loss = (error ** 2).sum()
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
