# %%linreg --stage autograd --device cpu --epochs 100
# expect: correct
# .data: the update autograd does not see (the old way)
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    b.data -= lr * b.grad.data
    w.data -= lr * w.grad.data
    b.grad.data.zero_()
    w.grad.data.zero_()
