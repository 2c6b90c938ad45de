# %%linreg --stage autograd --device cpu --epochs 100
# expect: correct
torch.manual_seed(42)
w = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
b = torch.randn(1, requires_grad=True, dtype=torch.float, device=device)
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in (b, w):
            p -= lr * p.grad
            p.grad.zero_()
