# %%linreg --stage autograd --device cpu --epochs 100
# expect: not yet: non_leaf
torch.manual_seed(42)
b = torch.randn(1, requires_grad=True, dtype=torch.float).double()
w = torch.randn(1, requires_grad=True, dtype=torch.float).double()
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
