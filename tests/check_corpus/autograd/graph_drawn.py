# %%linreg --stage autograd --device cpu --epochs 100
# expect: correct
# the chapter's make_dot, on the last epoch's loss
for epoch in range(n_epochs):
    yhat = b + w * x_train_tensor
    loss = ((yhat - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
graph = make_dot(loss)
