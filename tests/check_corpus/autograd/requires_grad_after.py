# %%linreg --stage autograd --device cpu --epochs 100
# expect: correct
# the book's THIRD way: plain tensors sent to the device, then set to require gradients
torch.manual_seed(42)
b = torch.randn(1, dtype=torch.float).to(device)
w = torch.randn(1, dtype=torch.float).to(device)
b.requires_grad_()
w.requires_grad_()
for epoch in range(n_epochs):
    loss = ((b + w * x_train_tensor - y_train_tensor) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        b -= lr * b.grad
        w -= lr * w.grad
    b.grad.zero_()
    w.grad.zero_()
