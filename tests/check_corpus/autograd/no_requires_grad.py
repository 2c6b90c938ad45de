# %%linreg --stage autograd --device cpu --epochs 100
# expect: not yet: gradient
torch.manual_seed(42)
b = torch.randn(1, dtype=torch.float, device=device)
w = torch.randn(1, dtype=torch.float, device=device)
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
